import NIOCore
import NIOPosix
import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a short command the agent asks the machine about (`claude --version`, `nvidia-smi`)
/// and keeps the beginning of what it prints.
///
/// Such a command is untrusted: it may hang, print without end or start children that outlive
/// it. It runs through the spawner in a process group of its own, which is killed when it ends
/// or when `timeout` passes on the agent's clock; only the first ``maxOutputBytes`` of each
/// stream are kept. It never delays anything but its caller.
enum ProbeCommand {
  /// What a finished command said.
  struct Result: Equatable, Sendable {
    /// How it ended.
    var outcome: ProcessOutcome
    /// The beginning of its standard output.
    var standardOutput: String
    /// The beginning of its standard error.
    var standardError: String

    /// Whether it exited with status 0.
    var succeeded: Bool { outcome == .exited(code: 0) }
  }

  /// Most bytes kept of each stream.
  static let maxOutputBytes = 4096

  /// Runs `executable` with `arguments`.
  /// - Parameters:
  ///   - environment: The whole environment it gets (never the agent's own: that may hold
  ///     the orchestrator's token).
  ///   - timeout: How long it may take before its group is killed.
  ///   - clock: The clock `timeout` is measured on.
  /// - Returns: What it printed and how it ended; `nil` when it could not start or was still
  ///   running at the timeout.
  static func run(
    _ executable: String,
    arguments: [String],
    environment: [String: String],
    timeout: Duration,
    clock: any WallClock
  ) async -> Result? {
    let process: LaunchedProcess
    do {
      // On NIO's blocking-work pool, as a task's launch: an exec that hangs (a dead network
      // filesystem on PATH) must not hold the threads the agent's connection runs on.
      process = try await NIOThreadPool.singleton.runIfActive {
        try ProcessLauncher.launch(
          executable: executable,
          arguments: [executable] + arguments,
          environment: environment,
          workingDirectory: "/",
          fenced: false,
          killGrace: .zero
        )
      }
    } catch {
      return nil
    }
    let result = await withTaskGroup(of: Event.self, returning: Result?.self) { group in
      group.addTask { .standardOutput(await readPrefix(process.standardOutput)) }
      group.addTask { .standardError(await readPrefix(process.standardError)) }
      group.addTask {
        var records: [UInt8] = []
        try? await PipeReader.read(process.status) { records += $0.readableBytesView }
        return .ended(ProcessOutcome(records: records))
      }
      group.addTask {
        try? await clock.sleep(for: timeout)
        return .timedOut
      }
      var result = Result(outcome: .unknown, standardOutput: "", standardError: "")
      var pending = 3
      var ended = false
      while pending > 0, let event = await group.next() {
        switch event {
        case .standardOutput(let text): result.standardOutput = text
        case .standardError(let text): result.standardError = text
        case .ended(let outcome):
          result.outcome = outcome
          ended = true
        case .timedOut:
          // Ended, but something it left behind holds a pipe: what was read is the answer.
          ProcessLauncher.signalGroup(process.processGroup, SIGKILL)
          group.cancelAll()
          guard ended else { return nil }
          // The readers, cancelled, hand over what they kept.
          while let late = await group.next() {
            switch late {
            case .standardOutput(let text): result.standardOutput = text
            case .standardError(let text): result.standardError = text
            case .ended, .timedOut: break
            }
          }
          return result
        }
        pending -= 1
      }
      group.cancelAll()
      return result
    }
    return result
  }

  private enum Event: Sendable {
    case standardOutput(String)
    case standardError(String)
    case ended(ProcessOutcome)
    case timedOut
  }

  /// Reads `descriptor` to its end (so the writer never blocks on a full pipe), keeping the
  /// first ``maxOutputBytes``.
  private static func readPrefix(_ descriptor: CInt) async -> String {
    var kept: [UInt8] = []
    try? await PipeReader.read(descriptor) { buffer in
      let room = maxOutputBytes - kept.count
      if room > 0 { kept += buffer.readableBytesView.prefix(room) }
    }
    return String(decoding: kept, as: UTF8.self)
  }
}
