/// Liveness of a node as the orchestrator sees it.
///
/// ```
/// ACTIVE ──silent past heartbeat timeout──► INACTIVE ──silent a further lost-after──► DISCONNECTED
///   ▲                                          │                                         │
///   └──────────────── heartbeat ───────────────┘                                         │
///   └──────────────────────────────── register again ─────────────────────────────────────┘
/// ACTIVE or INACTIVE ──unregister──► DISCONNECTED
/// ```
public enum NodeStatus: Hashable, Sendable, CaseIterable, CustomStringConvertible {
  /// Heard from within the heartbeat timeout: eligible for new work.
  case active
  /// Silent past the heartbeat timeout: no new work; its tasks keep their place for now.
  case inactive
  /// Silent for a further lost-after, or left: its tasks are given to others.
  case disconnected

  public var description: String {
    switch self {
    case .active: "ACTIVE"
    case .inactive: "INACTIVE"
    case .disconnected: "DISCONNECTED"
    }
  }
}
