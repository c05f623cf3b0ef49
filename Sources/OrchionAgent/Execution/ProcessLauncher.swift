import COrchionSpawn
import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// A task's process tree as started: the command (whose pid is the process group) and the read
/// ends of its output and status pipes.
struct LaunchedProcess: Sendable {
  /// The command's pid, which is also the group ID of everything the task starts.
  var processGroup: pid_t
  var standardOutput: CInt
  var standardError: CInt
  var status: CInt
}

/// Starts task processes through the spawner (see `orchion_spawn.h`), which supervises them.
enum ProcessLauncher {
  /// Starts `executable`.
  /// - Throws: `OrchionError` with the system's reason when pipes or fork fail.
  static func launch(
    executable: String,
    arguments: [String],
    environment: [String: String],
    workingDirectory: String,
    cgroup: String? = nil,
    fenced: Bool,
    killGrace: Duration
  ) throws(OrchionError) -> LaunchedProcess {
    var output: [CInt] = [0, 0]
    var errors: [CInt] = [0, 0]
    guard orchion_pipe_cloexec(&output) == 0 else { throw systemError("pipe") }
    guard orchion_pipe_cloexec(&errors) == 0 else {
      close(output[0])
      close(output[1])
      throw systemError("pipe")
    }
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var statusFD: CInt = -1
    let pid = argv.withUnsafeBufferPointer { argvBuffer in
      envp.withUnsafeBufferPointer { envpBuffer in
        orchion_spawn(
          executable,
          argvBuffer.baseAddress,
          envpBuffer.baseAddress,
          workingDirectory,
          cgroup ?? "",
          output[1],
          errors[1],
          fenced ? 1 : 0,
          killGrace.nanoseconds,
          &statusFD
        )
      }
    }
    guard pid > 0 else {
      close(output[0])
      close(errors[0])
      close(output[1])
      close(errors[1])
      throw OrchionError(code: .internalError, message: "cannot start process: \(describe(-pid))")
    }
    return LaunchedProcess(
      processGroup: pid,
      standardOutput: output[0],
      standardError: errors[0],
      status: statusFD
    )
  }

  /// Keeps tasks of the same user out of this process: no ptrace, no /proc/PID/environ or
  /// memory (prctl PR_SET_DUMPABLE 0; the spawner, forked from it, inherits that).
  static func hideFromTasks() {
    _ = orchion_set_undumpable()
  }

  /// Sets up the lease that the spawner watches for fenced tasks; call before the first launch.
  static func prepareLease() throws(OrchionError) {
    let result = orchion_lease_init()
    guard result == 0 else {
      throw OrchionError(code: .internalError, message: "lease setup failed: \(describe(-result))")
    }
  }

  /// Fenced tasks stop on their own once `duration` passes without a renewal.
  static func renewLease(for duration: Duration) {
    orchion_lease_set(orchion_monotonic_ns() &+ max(1, duration.nanoseconds))
  }

  /// Fenced tasks stop on their own `lease.duration` after `start` (monotonic nanoseconds)
  /// unless renewed, with at most `lease.killGrace` between SIGTERM and SIGKILL. A renewal never
  /// moves the deadline earlier.
  static func renewLease(_ lease: FencingLease, from start: Int64) {
    orchion_lease_set_grace(max(0, lease.killGrace.nanoseconds))
    orchion_lease_extend(start &+ max(1, lease.duration.nanoseconds))
  }

  /// Now on the clock the lease is kept on (CLOCK_MONOTONIC), in nanoseconds.
  static func monotonicNanoseconds() -> Int64 {
    orchion_monotonic_ns()
  }

  /// No lease: fenced tasks are not stopped until a lease is set again.
  static func clearLease() {
    orchion_lease_set(0)
    orchion_lease_set_grace(0)
  }

  /// Sends `signal` to every process of the group.
  static func signalGroup(_ group: pid_t, _ signal: CInt) {
    kill(-group, signal)
  }

  /// The text of an errno value.
  static func describe(_ code: CInt) -> String {
    String(cString: strerror(code))
  }

  private static func systemError(_ call: String) -> OrchionError {
    OrchionError(code: .internalError, message: "\(call) failed: \(describe(errno))")
  }
}
