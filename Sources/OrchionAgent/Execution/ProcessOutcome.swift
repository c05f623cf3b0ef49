import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// How a task's process ended, decoded from the status records the spawner writes.
enum ProcessOutcome: Equatable, Sendable {
  case exited(code: Int32)
  case signaled(Int32)
  case cannotChangeDirectory(errno: Int32)
  case cannotExecute(errno: Int32)
  /// The spawner stopped the task because the agent's lease with the orchestrator ran out.
  case fenced
  /// The status pipe closed without a report (the spawner was killed).
  case unknown

  /// Decodes the records read from the status pipe (see `orchion_spawn.h`).
  init(records bytes: [UInt8]) {
    var outcome = ProcessOutcome.unknown
    var fenced = false
    var index = 0
    let size = 1 + MemoryLayout<Int32>.size
    while index + size <= bytes.count {
      var value: Int32 = 0
      withUnsafeMutableBytes(of: &value) { raw in
        raw.copyBytes(from: bytes[(index + 1)..<(index + size)])
      }
      // Tags as in orchion_spawn.h ('C', 'X', 'S').
      switch bytes[index] {
      case UInt8(ascii: "C"): outcome = .cannotChangeDirectory(errno: value)
      case UInt8(ascii: "X"): outcome = .cannotExecute(errno: value)
      case UInt8(ascii: "F"): fenced = true
      case UInt8(ascii: "S"):
        // A failed chdir or exec is also reported as exit 127: keep the precise reason.
        if case .cannotChangeDirectory = outcome { break }
        if case .cannotExecute = outcome { break }
        let signal = value & 0x7F
        outcome = signal == 0 ? .exited(code: (value >> 8) & 0xFF) : .signaled(signal)
      default: break
      }
      index += size
    }
    self = fenced ? .fenced : outcome
  }

  /// The exit code to record, when there is one.
  var exitCode: Int32? {
    switch self {
    case .exited(let code): code
    case .signaled(let signal): 128 + signal
    case .cannotChangeDirectory, .cannotExecute: 127
    case .fenced, .unknown: nil
    }
  }

  /// Why it ended, as a value; `nil` for ``fenced`` (the orchestrator, not this agent, says
  /// what became of the task).
  var termination: TerminationReason? {
    switch self {
    case .exited: .exited
    case .signaled: .signalled
    case .cannotChangeDirectory, .cannotExecute: .couldNotStart
    case .unknown: .spawnerDied
    case .fenced: nil
    }
  }

  /// Why it ended, for a person.
  func describe(program: String, workingDirectory: String) -> String {
    switch self {
    case .exited(let code): "exited with code \(code)"
    case .signaled(let signal): "killed by signal \(signal) (\(Self.signalName(signal)))"
    case .cannotChangeDirectory(let error):
      "cannot change to working directory '\(workingDirectory)': \(String(cString: strerror(error)))"
    case .cannotExecute(let error):
      "cannot execute '\(program)': \(String(cString: strerror(error)))"
    case .fenced:
      "stopped on its node: the agent lost the orchestrator for longer than heartbeat-timeout + lost-after, so the task is given to another node"
    case .unknown: "the agent's process spawner was killed before it reported how the command ended"
    }
  }

  static func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGTERM: "SIGTERM"
    case SIGKILL: "SIGKILL"
    case SIGINT: "SIGINT"
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    case SIGHUP: "SIGHUP"
    case SIGPIPE: "SIGPIPE"
    default: "signal \(signal)"
    }
  }
}
