import OrchionCore

/// What the cluster's shell must do after a transition of the ``ClusterState``: the side
/// effects the pure state asks for. Everything but ending sessions and subscriptions and
/// delivering messages (see ``isImmediate``) waits until the transition's changes are durable.
enum ClusterAction: Sendable {
  /// Send an assignment to a node's agent.
  case assign(NodeID, Assignment)
  /// Tell a node's agent to kill an attempt's process tree.
  case stop(NodeID, task: TaskID, attempt: AttemptID, state: TaskState, reason: String)
  /// The task became terminal: wake whoever follows its logs.
  case finished(TaskID)
  /// The task was dropped from memory (retention): drop its logs too.
  case evicted(TaskID)
  /// End an agent's stream: its node was lost, or a newer stream replaced it. Performed at
  /// once, not after the commit: a stream that carries on would only deliver to a node the
  /// state has written off.
  case endSession(SessionID)
  /// Hand a message to a live subscription. Performed at once, in the order decided: the
  /// message was durable before it could be chosen.
  case deliver(UInt64, MailboxDelivery)
  /// End a subscription, with the error its stream ends with (`nil`: it just ends).
  /// Performed at once, after the deliveries decided before it: what it held is back in its
  /// mailbox already, and a subscriber whose stream ended early subscribes again.
  case endSubscription(UInt64, OrchionError?)
  /// Messages that are now durable may be delivered (``MailboxTable/reveal(_:now:)``).
  case reveal([String])

  /// Performed right after the transition's lock, not once its changes are durable.
  var isImmediate: Bool {
    switch self {
    case .endSession, .deliver, .endSubscription: true
    case .assign, .stop, .finished, .evicted, .reveal: false
    }
  }

  /// Stop an attempt whose process must go; once gone, the agent reports it CANCELLED.
  static func stopAttempt(_ node: NodeID, _ task: TaskID, _ attempt: AttemptID, reason: String)
    -> ClusterAction
  {
    .stop(node, task: task, attempt: attempt, state: .cancelled, reason: reason)
  }

  /// The reason given to an agent whose attempt is no longer the task's current one.
  static let staleReason = "stale attempt: the task has moved on"

  /// One attempt to run a task.
  struct Assignment: Sendable {
    var task: TaskID
    var attemptID: AttemptID
    var attempt: Int32
    var spec: TaskSpec
  }
}

/// One agent stream's identity: a node's successive streams get increasing IDs, so an old
/// stream ending does not detach the one that replaced it.
struct SessionID: Hashable, Comparable, Sendable, CustomStringConvertible {
  let rawValue: UInt64

  static func < (lhs: SessionID, rhs: SessionID) -> Bool { lhs.rawValue < rhs.rawValue }

  var description: String { "session-\(rawValue)" }
}

/// A status report from an agent about one attempt.
struct AttemptReport: Sendable {
  var task: TaskID
  var attempt: AttemptID
  /// RUNNING, SUCCEEDED, FAILED, CANCELLED, or PENDING for "not run: give it to someone else".
  var state: TaskState
  var exitCode: Int32?
  var message: String
  var time: UTCInstant
  /// With a terminal state: why the process ended, as the agent saw it (only reasons an
  /// agent may give; see ``TerminationReason/isReportableByAgent``).
  var termination: TerminationReason? = nil
  /// With a terminal state of an agent task: what the agent's output said.
  var agentResult: AgentResult? = nil
}
