import OrchionCore

/// Who is using the router, and what they may read: an admin anything; a task's attempt its
/// own task's and node's mailboxes, topics and queues.
struct RouterCaller: Sendable {
  /// The sender named on its messages: `task/ID`, `client/TOKEN-ID` or `client`.
  var name: String
  var isAdmin: Bool
  /// The attempt calling, and the node it runs on, when a task calls.
  var attempt: (task: TaskID, attempt: AttemptID)?
  var node: NodeID?

  /// The caller of the RPC being served.
  /// - Parameter currentNode: The node of a task's attempt if it is the task's current,
  ///   unfinished one; `nil` otherwise.
  /// - Throws: `unauthenticated` for a task whose attempt is over (its token died with it).
  static func current(
    currentNode: (TaskID, AttemptID) -> NodeID?
  ) throws(OrchionError) -> RouterCaller {
    switch Caller.current?.principal ?? .unauthenticated {
    case .admin(let tokenID):
      return RouterCaller(name: "client/\(tokenID)", isAdmin: true)
    case .agent(let tokenID):
      // Sends anywhere; receives from queues and topics only, never a task's or node's mail.
      return RouterCaller(name: "client/\(tokenID)", isAdmin: false)
    case .unauthenticated:
      return RouterCaller(name: "client", isAdmin: true)
    case .join:
      throw .permissionDenied("a join token may not use the router")
    case .read:
      throw .permissionDenied("a read token may not use the router (receiving takes messages)")
    case .task(let task, let attempt):
      guard let node = currentNode(task, attempt) else {
        throw .unauthenticated(
          "this task token belongs to attempt \(attempt) of task \(task), which has ended"
        )
      }
      return RouterCaller(
        name: "task/\(task)",
        isAdmin: false,
        attempt: (task, attempt),
        node: node
      )
    }
  }

  /// Whether the caller may receive (and acknowledge) messages sent to `address`.
  func mayRead(_ address: MessageAddress) -> Bool {
    if isAdmin { return true }
    switch address {
    case .task(let task): return task == attempt?.task
    case .node(let id): return id == node
    case .topic, .queue: return true
    }
  }

  private init(
    name: String,
    isAdmin: Bool,
    attempt: (task: TaskID, attempt: AttemptID)? = nil,
    node: NodeID? = nil
  ) {
    self.name = name
    self.isAdmin = isAdmin
    self.attempt = attempt
    self.node = node
  }
}
