import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import SwiftProtobuf

/// The router's part of the ``ClusterState``: a durable mailbox per task, node, queue and
/// topic consumer, and who reads each. A value with no clock, no locks and no I/O, like the
/// rest of the state: transitions take `now`, return the ``ClusterAction``s to perform
/// (deliveries, subscriptions to end, messages to reveal once durable) and leave the changes
/// to persist until ``takeChanges()``.
///
/// - A message is kept in the store before its sender hears of it, and deleted when
///   acknowledged (or expired): what `Send` acknowledged survives a crash of the orchestrator.
/// - It is delivered only once durable (``reveal(_:now:)``), in acceptance order (so FIFO per
///   sender), to one of the mailbox's subscribers in turn (a queue's consumers share the work);
///   a topic message is copied to the mailbox of every consumer subscribed when it is sent,
///   and of every named consumer that subscribed before and is away (kept for
///   ``RouterLimits/awayConsumerRetention``, within the mailbox bound: an away consumer's full
///   mailbox misses the copy, it does not block the topic).
/// - Only the subscription a message is delivered to (or, by `Ack`, the caller that opened it)
///   may acknowledge it.
/// - Every message counts ``RouterLimits/messageOverheadBytes`` beyond its payload and headers,
///   and the mailboxes are bounded in number (``RouterLimits/maxMailboxes``).
/// - Unacknowledged within the subscriber's ack timeout, or when its subscription ends, it goes
///   back to its place and is delivered again, with the same ID.
///
/// Whether a task or node may be addressed is the ``ClusterState``'s to say, from its board
/// and node table, in the same transition.
struct MailboxTable: Sendable {
  let limits: RouterLimits
  var mailboxes: [MailboxKey: Mailbox] = [:]
  /// Where each queued message (by delivery ID) is.
  var index: [String: MailboxKey] = [:]
  var subscribers: [UInt64: Subscriber] = [:]
  var nextSubscriber: UInt64 = 1
  var nextSequence: UInt64 = 1
  var totalBytes = 0
  /// Live subscriptions per topic and consumer: who a topic message is copied to.
  var topicConsumers: [String: [String: Int]] = [:]
  /// Named consumers per topic, subscribed or away: their copies wait for them.
  var namedConsumers: [String: Set<String>] = [:]
  /// The topics each named consumer is registered with (to forget a finished task's).
  var consumerTopics: [String: Set<String>] = [:]
  /// When away named consumers are forgotten (lazy: checked against the mailbox).
  var awayDeadlines = DeadlineHeap<MailboxKey>()
  /// Lazy heaps: an entry is acted on only if it still matches the message.
  var expiries = DeadlineHeap<String>()
  var ackDeadlines = DeadlineHeap<String>()
  /// Changes not yet taken for the store.
  var changes: [StateChange] = []

  struct Subscriber: Sendable {
    var key: MailboxKey
    var maxInFlight: Int
    var ackTimeout: Duration
    var inFlight = 0
    var attempt: (task: TaskID, attempt: AttemptID)?
    /// The caller that opened it (``RouterCaller/name``): who may acknowledge by `Ack`.
    var owner: String
  }

  /// A message accepted for sending, everything about it decided but its place.
  struct Arrival: Sendable {
    var message: Orchion_V1_RoutedMessage
    /// `StoredMessage{message}` encoded before the transition: the payload is not copied
    /// under the cluster's lock. A copy's record is these bytes followed by the encoding of
    /// its sequence and consumer (protobuf merges concatenated encodings).
    var encodedMessage: Data
    var size: Int
    var expiresAt: UTCInstant
  }

  init(limits: RouterLimits) {
    self.limits = limits
  }

  mutating func takeChanges() -> [StateChange] {
    defer { changes.removeAll(keepingCapacity: true) }
    return changes
  }

  // MARK: Sending

  /// Queues a message for the mailboxes of `address`, invisible until ``reveal(_:now:)``.
  /// - Returns: The delivery IDs queued (none for a topic nobody listens to).
  /// - Throws: `resourceExhausted` (changing nothing) when a mailbox or the router is full.
  mutating func accept(_ arrival: Arrival, to address: MessageAddress) throws(OrchionError)
    -> [String]
  {
    var kept: [MailboxKey] = []
    var opened = 0
    for key in targets(of: address) {
      guard let mailbox = mailboxes[key] else {
        opened += 1
        kept.append(key)
        continue
      }
      if mailbox.messages.count < limits.maxMessagesPerMailbox,
        mailbox.bytes + arrival.size <= limits.maxBytesPerMailbox
      {
        kept.append(key)
        continue
      }
      // An away consumer's full mailbox misses this copy; it must not block the topic for
      // those listening.
      if mailbox.retained, mailbox.subscribers.isEmpty { continue }
      throw .resourceExhausted(
        "mailbox \(Self.describe(key)) is full (\(mailbox.messages.count) messages, \(mailbox.bytes) bytes; at most \(limits.maxMessagesPerMailbox) and \(limits.maxBytesPerMailbox)): retry once its receivers catch up"
      )
    }
    try requireRoom(forMailboxes: opened)
    guard totalBytes + arrival.size * kept.count <= limits.maxTotalBytes else {
      throw .resourceExhausted(
        "the router holds \(totalBytes) bytes of messages (at most \(limits.maxTotalBytes)): retry once receivers catch up"
      )
    }
    guard !kept.isEmpty else { return [] }
    let sequence = nextSequence
    nextSequence += 1
    var ids: [String] = []
    for key in kept {
      var stored = Orchion_V1_StoredMessage()
      stored.message = arrival.message
      stored.sequence = sequence
      stored.consumer = key.consumer
      let deliveryID = Self.deliveryID(message: arrival.message.id, consumer: key.consumer)
      insert(
        QueuedMessage(stored: stored, bytes: arrival.size, expiresAt: arrival.expiresAt),
        id: deliveryID,
        key: key
      )
      ids.append(deliveryID)
      var place = Orchion_V1_StoredMessage()
      place.sequence = sequence
      place.consumer = key.consumer
      // Cannot fail: two scalar fields.
      let tail = (try? place.serializedBytes() as Data) ?? Data()
      changes.append(
        .recordSaved(
          KeyedRecord(kind: .message, id: deliveryID, body: arrival.encodedMessage + tail)
        )
      )
    }
    return ids
  }

  /// Refuses to open `count` more mailboxes beyond ``RouterLimits/maxMailboxes``.
  private func requireRoom(forMailboxes count: Int) throws(OrchionError) {
    guard count > 0 else { return }
    guard mailboxes.count + count <= limits.maxMailboxes else {
      throw .resourceExhausted(
        "the router holds \(mailboxes.count) mailboxes (at most \(limits.maxMailboxes), --max-mailboxes): retry once receivers catch up"
      )
    }
  }

  /// The mailboxes a message to `address` goes to.
  private func targets(of address: MessageAddress) -> [MailboxKey] {
    switch address {
    case .task, .node, .queue:
      return [MailboxKey(address: address, consumer: "")]
    case .topic(let name):
      let consumers = Set((topicConsumers[name] ?? [:]).keys).union(namedConsumers[name] ?? [])
      return consumers.sorted().map { MailboxKey(address: address, consumer: $0) }
    }
  }

  mutating func insert(_ message: QueuedMessage, id: String, key: MailboxKey) {
    if mailboxes[key] == nil { mailboxes[key] = Mailbox() }
    mailboxes[key]?.messages[id] = message
    mailboxes[key]?.bytes += message.bytes
    if !message.visible { mailboxes[key]?.invisible += 1 }
    totalBytes += message.bytes
    index[id] = key
    expiries.push(id, at: message.expiresAt)
  }

  /// Makes durable messages deliverable, and delivers them to whoever has room.
  mutating func reveal(_ ids: [String], now: UTCInstant) -> [ClusterAction] {
    var touched: Set<MailboxKey> = []
    for id in ids {
      guard let key = index[id], let message = mailboxes[key]?.messages[id], !message.visible
      else { continue }
      mailboxes[key]?.messages[id]?.visible = true
      mailboxes[key]?.invisible -= 1
      mailboxes[key]?.makePending(id, sequence: message.sequence)
      touched.insert(key)
    }
    return touched.flatMap { pump($0, now: now) }
  }

  // MARK: Subscribing

  /// Opens a subscription; the address was checked by the caller.
  /// - Returns: Its ID and consumer, and the deliveries it gets at once.
  /// - Throws: `resourceExhausted` when it would open a mailbox beyond the bound.
  mutating func subscribe(_ request: SubscriptionRequest, now: UTCInstant) throws(OrchionError)
    -> (id: UInt64, consumer: String, actions: [ClusterAction])
  {
    let id = nextSubscriber
    var consumer = ""
    if case .topic = request.address {
      // Unnamed: a name of its own, never reused, so its copies die with it.
      consumer = request.consumer.isEmpty ? "~\(id)" : request.consumer
    }
    let key = MailboxKey(address: request.address, consumer: consumer)
    if mailboxes[key] == nil {
      try requireRoom(forMailboxes: 1)
      mailboxes[key] = Mailbox()
    }
    nextSubscriber += 1
    if case .topic(let name) = request.address {
      topicConsumers[name, default: [:]][consumer, default: 0] += 1
    }
    subscribers[id] = Subscriber(
      key: key,
      maxInFlight: request.maxInFlight,
      ackTimeout: request.ackTimeout,
      attempt: request.attempt,
      owner: request.owner
    )
    mailboxes[key]?.subscribers.append(id)
    mailboxes[key]?.awaySince = nil
    if case .topic(let name) = request.address, !consumer.hasPrefix("~") {
      register(topic: name, consumer: consumer, durably: true)
    }
    return (id, consumer, pump(key, now: now))
  }

  /// Ends a subscription; what it held goes back to its mailbox (and to the next subscriber).
  mutating func end(_ id: UInt64, error: OrchionError?, now: UTCInstant) -> [ClusterAction] {
    guard let subscriber = subscribers.removeValue(forKey: id) else { return [] }
    var actions: [ClusterAction] = [.endSubscription(id, error)]
    let key = subscriber.key
    mailboxes[key]?.subscribers.removeAll { $0 == id }
    // Collected first: a mailbox bound to a name while it changes would be copied whole.
    let held = mailboxes[key]?.messages.compactMap { $1.holder == id ? $0 : nil } ?? []
    for messageID in held { mailboxes[key]?.release(messageID) }
    if case .topic(let name) = key.address {
      let remaining = (topicConsumers[name]?[key.consumer] ?? 1) - 1
      topicConsumers[name]?[key.consumer] = remaining > 0 ? remaining : nil
      if topicConsumers[name]?.isEmpty == true { topicConsumers[name] = nil }
      if remaining <= 0, key.consumer.hasPrefix("~") {
        drop(key)
        return actions
      }
      if remaining <= 0, mailboxes[key]?.retained == true {
        // Away: its copies keep coming, until it returns or is forgotten.
        mailboxes[key]?.awaySince = now
        awayDeadlines.push(key, at: now.advanced(by: limits.awayConsumerRetention))
      }
    }
    actions += pump(key, now: now)
    removeIfIdle(key)
    return actions
  }

  /// Ends every subscription (a restore replaced what they read).
  mutating func endAll(now: UTCInstant) -> [ClusterAction] {
    subscribers.keys.sorted().flatMap { end($0, error: nil, now: now) }
  }

  /// Delivers waiting messages to subscribers with room, in turn.
  private mutating func pump(_ key: MailboxKey, now: UTCInstant) -> [ClusterAction] {
    // The mailbox is only ever reached through `mailboxes[key]` here: bound to a name while
    // it changes, it would be copied whole for every delivery.
    guard mailboxes[key].map({ !$0.subscribers.isEmpty && $0.mayHavePending }) == true
    else { return [] }
    var actions: [ClusterAction] = []
    while true {
      let chosen = mailboxes[key]?.nextReader { candidate in
        subscribers[candidate].map { $0.inFlight < $0.maxInFlight } ?? false
      }
      // The turn passes only with a message: choosing a subscriber when none was waiting
      // must not skip it (with two consumers, one got every message).
      guard let (subscriberID, offset) = chosen, let subscriber = subscribers[subscriberID],
        let id = mailboxes[key]?.takeNext(), var message = mailboxes[key]?.messages[id]
      else { return actions }
      mailboxes[key]?.advance(past: offset)
      let deadline = now.advanced(by: subscriber.ackTimeout)
      message.deliveries += 1
      message.holder = subscriberID
      message.ackDeadline = deadline
      mailboxes[key]?.messages[id] = message
      mailboxes[key]?.inFlight += 1
      subscribers[subscriberID]?.inFlight += 1
      ackDeadlines.push(id, at: deadline)
      actions.append(
        .deliver(
          subscriberID,
          MailboxDelivery(id: id, message: message.stored.message, count: message.deliveries)
        )
      )
    }
  }

  // MARK: Acknowledging

  /// Acknowledges deliveries; IDs not outstanding are skipped.
  /// - Returns: How many were outstanding, and the deliveries their room made.
  /// - Throws: `permissionDenied` (acknowledging nothing) when one is held by another
  ///   subscription.
  mutating func acknowledge(
    _ deliveryIDs: [String],
    by acknowledger: Acknowledger,
    now: UTCInstant
  ) throws(OrchionError) -> (count: Int, actions: [ClusterAction]) {
    // All checked before any is removed: a refused acknowledgement changes nothing.
    var held: [String] = []
    for id in deliveryIDs {
      guard let key = index[id], let message = mailboxes[key]?.messages[id],
        let holder = message.holder
      else { continue }  // not outstanding: waiting, acknowledged or expired
      let mine =
        switch acknowledger {
        case .subscription(let subscription): holder == subscription
        case .caller(let name): subscribers[holder]?.owner == name
        }
      guard mine else {
        throw .permissionDenied(
          "delivery \(id) is held by another subscription: only the one it was delivered to may acknowledge it"
        )
      }
      held.append(id)
    }
    var touched: Set<MailboxKey> = []
    var count = 0
    for id in held {
      guard let key = remove(id) else { continue }
      mailboxes[key]?.acknowledged += 1
      touched.insert(key)
      // Not waited for: a crash before this is durable delivers the message again, which
      // at-least-once allows and the receiver detects by ID.
      changes.append(.recordDeleted(.message, id: id))
      count += 1
    }
    var actions: [ClusterAction] = []
    for key in touched {
      actions += pump(key, now: now)
      removeIfIdle(key)
    }
    return (count, actions)
  }

  /// Forgets a queued message; returns its mailbox, `nil` when it was not queued.
  private mutating func remove(_ id: String) -> MailboxKey? {
    guard let key = index.removeValue(forKey: id),
      let message = mailboxes[key]?.messages.removeValue(forKey: id)
    else { return nil }
    mailboxes[key]?.bytes -= message.bytes
    totalBytes -= message.bytes
    if !message.visible { mailboxes[key]?.invisible -= 1 }
    if let holder = message.holder {
      mailboxes[key]?.inFlight -= 1
      subscribers[holder]?.inFlight -= 1
    }
    return key
  }

  /// Drops a mailbox and its messages (from the store too). Its subscriptions are ended by
  /// the caller.
  mutating func drop(_ key: MailboxKey) {
    guard let mailbox = mailboxes.removeValue(forKey: key) else { return }
    for (id, message) in mailbox.messages {
      index[id] = nil
      totalBytes -= message.bytes
      changes.append(.recordDeleted(.message, id: id))
    }
  }

  private mutating func removeIfIdle(_ key: MailboxKey) {
    if mailboxes[key]?.isIdle == true { mailboxes[key] = nil }
  }

  // MARK: Time and tasks

  /// Delivers again what waited past its ack timeout, drops what outlived its TTL, and forgets
  /// named consumers away longer than their retention.
  mutating func tick(now: UTCInstant) -> [ClusterAction] {
    var touched: Set<MailboxKey> = []
    while let first = ackDeadlines.first, first.deadline <= now {
      _ = ackDeadlines.popFirst()
      guard let key = index[first.key], let message = mailboxes[key]?.messages[first.key],
        let holder = message.holder, message.ackDeadline == first.deadline
      else { continue }
      mailboxes[key]?.release(first.key)
      subscribers[holder]?.inFlight -= 1
      touched.insert(key)
    }
    while let first = expiries.first, first.deadline <= now {
      _ = expiries.popFirst()
      guard let key = index[first.key], let message = mailboxes[key]?.messages[first.key],
        message.expiresAt <= now
      else { continue }
      _ = remove(first.key)
      changes.append(.recordDeleted(.message, id: first.key))
      touched.insert(key)
    }
    var actions: [ClusterAction] = []
    for key in touched {
      actions += pump(key, now: now)
      removeIfIdle(key)
    }
    while let first = awayDeadlines.first, first.deadline <= now {
      _ = awayDeadlines.popFirst()
      let retention = limits.awayConsumerRetention
      let forgotten = mailboxes[first.key].map { mailbox in
        guard mailbox.retained, mailbox.subscribers.isEmpty, let since = mailbox.awaySince
        else { return false }
        return since.advanced(by: retention) <= now
      }
      guard case .topic(let topic) = first.key.address, forgotten == true else { continue }
      forget(topic: topic, consumer: first.key.consumer)
    }
    return actions
  }

  /// The subscriptions a task's attempt opened, with that attempt.
  var attemptSubscriptions: [(id: UInt64, task: TaskID, attempt: AttemptID)] {
    subscribers.compactMap { id, subscriber in
      subscriber.attempt.map { (id, $0.task, $0.attempt) }
    }.sorted { $0.id < $1.id }
  }

  /// Drops a finished task's mailbox and ends its subscriptions: nothing will read it.
  mutating func taskFinished(_ task: TaskID, now: UTCInstant) -> [ClusterAction] {
    let key = MailboxKey(address: .task(task), consumer: "")
    let reading = mailboxes[key]?.subscribers ?? []
    drop(key)
    // The task was a named consumer of these topics (its ID is its consumer name): nothing
    // will read its copies any more.
    for topic in (consumerTopics[task.rawValue] ?? []).sorted() {
      forget(topic: topic, consumer: task.rawValue)
    }
    let error = OrchionError.failedPrecondition("task \(task) has finished")
    return reading.flatMap { end($0, error: error, now: now) }
  }

  // MARK: Reading

  /// Every mailbox holding messages or subscribers, by address and consumer.
  var summaries: [MailboxSummary] {
    mailboxes.map { key, mailbox in
      MailboxSummary(
        key: key,
        pending: mailbox.pendingCount,
        inFlight: mailbox.inFlight,
        bytes: mailbox.bytes,
        subscribers: mailbox.subscribers.count,
        acknowledged: mailbox.acknowledged
      )
    }.sorted {
      ($0.key.address.description, $0.key.consumer) < ($1.key.address.description, $1.key.consumer)
    }
  }

  /// A topic's copies are told apart by consumer; everything else is delivered as itself.
  static func deliveryID(message: String, consumer: String) -> String {
    consumer.isEmpty ? message : message + "~" + consumer
  }

  static func describe(_ key: MailboxKey) -> String {
    key.consumer.isEmpty ? key.address.description : "\(key.address) (consumer \(key.consumer))"
  }
}

/// One message handed to a subscription.
struct MailboxDelivery: Sendable {
  var id: String
  var message: Orchion_V1_RoutedMessage
  var count: UInt32
}

/// What one mailbox holds, for `ListMailboxes`.
struct MailboxSummary: Sendable {
  var key: MailboxKey
  var pending: Int
  var inFlight: Int
  var bytes: Int
  var subscribers: Int
  var acknowledged: UInt64
}
