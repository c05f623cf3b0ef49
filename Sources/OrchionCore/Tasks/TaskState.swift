/// Where a task is in its life.
///
/// ```
/// PENDING ──placed──► ASSIGNED ──started──► RUNNING ──► SUCCEEDED | FAILED | CANCELLED
///    ▲                   │                    │
///    └── attempt failed or node lost, attempts remain ──┘
/// PENDING | ASSIGNED | RUNNING ──cancel──► CANCELLED (once the process tree is gone)
/// ```
public enum TaskState: Hashable, Sendable, CaseIterable, CustomStringConvertible {
  case pending, assigned, running, succeeded, failed, cancelled

  /// Whether the task will never change again.
  public var isTerminal: Bool {
    switch self {
    case .succeeded, .failed, .cancelled: true
    case .pending, .assigned, .running: false
    }
  }

  public var description: String {
    switch self {
    case .pending: "PENDING"
    case .assigned: "ASSIGNED"
    case .running: "RUNNING"
    case .succeeded: "SUCCEEDED"
    case .failed: "FAILED"
    case .cancelled: "CANCELLED"
    }
  }
}
