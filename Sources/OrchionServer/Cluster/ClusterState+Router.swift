import OrchionCore

/// The router's events: a send, a subscription opened or ended, an acknowledgement, messages
/// that became durable, a restore. Who may be written to is read from the board and the node
/// table in the same transition, so a message cannot slip into the mailbox of a task that
/// finished a moment before.
extension ClusterState {
  /// Queues a message for `address`; it is delivered once ``ClusterAction/reveal(_:)`` is
  /// performed, after the commit.
  /// - Returns: The delivery IDs queued (none for a topic nobody listens to).
  /// - Throws: `notFound` for an unknown task or node, `failedPrecondition` for a finished
  ///   task, `resourceExhausted` when a mailbox or the router is full; each changes nothing.
  mutating func send(_ arrival: MailboxTable.Arrival, to address: MessageAddress)
    throws(OrchionError) -> (ids: [String], actions: [ClusterAction])
  {
    try requireAddressable(address)
    let ids = try mailboxes.accept(arrival, to: address)
    return (ids, ids.isEmpty ? [] : [.reveal(ids)])
  }

  /// Opens a subscription to `request.address`.
  /// - Throws: As ``send(_:to:)`` for the address; `resourceExhausted` when it would open a
  ///   mailbox beyond the bound.
  mutating func subscribe(_ request: SubscriptionRequest, now: UTCInstant) throws(OrchionError)
    -> (id: UInt64, consumer: String, actions: [ClusterAction])
  {
    try requireAddressable(request.address)
    return try mailboxes.subscribe(request, now: now)
  }

  mutating func unsubscribe(_ id: UInt64, now: UTCInstant) -> [ClusterAction] {
    mailboxes.end(id, error: nil, now: now)
  }

  mutating func acknowledge(
    _ deliveryIDs: [String],
    by acknowledger: Acknowledger,
    now: UTCInstant
  ) throws(OrchionError) -> (count: Int, actions: [ClusterAction]) {
    try mailboxes.acknowledge(deliveryIDs, by: acknowledger, now: now)
  }

  /// Messages whose record is durable may be delivered.
  mutating func reveal(_ ids: [String], now: UTCInstant) -> [ClusterAction] {
    mailboxes.reveal(ids, now: now)
  }

  /// Replaces the mailboxes with what the store holds (after the tasks were restored: what
  /// is addressed to a task that finished meanwhile is dropped).
  mutating func restoreMessages(
    _ copies: [MailboxTable.StoredCopy],
    consumers: [String],
    now: UTCInstant
  ) -> (actions: [ClusterAction], kept: Int, dropped: Int) {
    let named = MailboxTable.tasksNamed(by: copies, consumers: consumers)
    let open = named.filter { (try? board.task($0).state.isTerminal) == false }
    return mailboxes.restore(copies, consumers: consumers, openTasks: open, now: now)
  }

  /// Whether `attempt` is the task's current attempt and has not ended.
  func isCurrent(_ task: TaskID, attempt: AttemptID) -> Bool {
    guard let record = try? board.task(task) else { return false }
    return record.attemptID == attempt && (record.state == .assigned || record.state == .running)
  }

  /// Refuses an address that is a task unknown or finished, or a node unknown.
  private func requireAddressable(_ address: MessageAddress) throws(OrchionError) {
    switch address {
    case .task(let task):
      guard let state = try? board.task(task).state else {
        throw .notFound("no task \(task) (or it finished long ago)")
      }
      guard !state.isTerminal else {
        throw .failedPrecondition(
          "task \(task) has finished (\(state)): nothing would read its messages"
        )
      }
    case .node(let node):
      guard nodes.node(node) != nil else { throw .notFound("no node is named '\(node)'") }
    case .queue, .topic:
      break
    }
  }
}
