import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// What the router needs to know about tasks and nodes, from the cluster.
struct RouterDirectory: Sendable {
  /// A task's state; `nil` when no such task is known.
  var taskState: @Sendable (TaskID) -> TaskState?
  var nodeExists: @Sendable (NodeID) -> Bool
  /// Whether that attempt is the task's current one and has not ended.
  var attemptIsCurrent: @Sendable (TaskID, AttemptID) -> Bool
}

/// The default ``Router``: a durable mailbox per task, node, queue and topic consumer.
///
/// - A message is kept in the store before its sender hears of it, and deleted when
///   acknowledged (or expired): what `Send` acknowledged survives a crash of the orchestrator.
/// - It is delivered only once durable, in acceptance order (so FIFO per sender), to one of
///   the mailbox's subscribers in turn (a queue's consumers share the work); a topic message
///   is copied to the mailbox of every consumer subscribed when it is sent, and of every named
///   consumer that subscribed before and is away (kept for ``RouterLimits/awayConsumerRetention``,
///   within the mailbox bound: an away consumer's full mailbox misses the copy, it does not
///   block the topic).
/// - Only the subscription a message is delivered to (or, by `Ack`, the caller that opened it)
///   may acknowledge it.
/// - Every message counts ``RouterLimits/messageOverheadBytes`` beyond its payload and headers,
///   and the mailboxes are bounded in number (``RouterLimits/maxMailboxes``).
/// - Unacknowledged within the subscriber's ack timeout, or when its subscription ends, it goes
///   back to its place and is delivered again, with the same ID.
/// - A task's mailbox holds messages until the task runs; it is dropped when the task
///   finishes. A subscription a task's attempt opened ends with that attempt.
final class MailboxRouter: Router {
  private struct State: Sendable {
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
    /// Deliveries decided but not yet handed to their subscriptions, in the order decided.
    var outbox: [(subscription: Subscription, delivery: Orchion_V1_Delivery)] = []
    /// A caller is handing the outbox over now (see ``flushDeliveries()``).
    var flushing = false
  }

  private struct Subscriber: Sendable {
    var subscription: Subscription
    var key: MailboxKey
    var maxInFlight: Int
    var ackTimeout: Duration
    var inFlight = 0
    var attempt: (task: TaskID, attempt: AttemptID)?
    /// The caller that opened it (``RouterCaller/name``): who may acknowledge by `Ack`.
    var owner: String
  }

  let limits: RouterLimits
  private let state = Mutex(State())
  private let journal: Journal
  private let clock: any WallClock
  private let directory: RouterDirectory
  private let logger: Logger

  init(
    journal: Journal,
    clock: any WallClock,
    directory: RouterDirectory,
    limits: RouterLimits = .defaults,
    logger: Logger
  ) {
    self.journal = journal
    self.clock = clock
    self.directory = directory
    self.limits = limits
    self.logger = logger
  }

  // MARK: Sending

  func accept(_ message: OutgoingMessage, from sender: String) throws(OrchionError)
    -> AcceptedMessage
  {
    let now = clock.now
    let ttl = message.ttl ?? limits.defaultTTL
    let size = size(payload: message.payload, headers: message.headers)
    let id = Self.messageID(at: now)
    var routed = Orchion_V1_RoutedMessage()
    routed.id = id
    routed.from = sender
    routed.to = message.to.description
    routed.payload = message.payload
    routed.headers = message.headers
    routed.sentAt = .init(now)
    routed.expiresAt = .init(now.advanced(by: ttl))
    // Asked before the router's lock: the directory answers from the cluster's.
    try requireAddressable(message.to)
    let journalEntry = try state.withLock { state throws(OrchionError) -> UInt64? in
      var kept: [MailboxKey] = []
      var opened = 0
      for key in try targets(of: message.to, in: state) {
        guard let mailbox = state.mailboxes[key] else {
          opened += 1
          kept.append(key)
          continue
        }
        if mailbox.messages.count < limits.maxMessagesPerMailbox,
          mailbox.bytes + size <= limits.maxBytesPerMailbox
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
      try requireRoom(forMailboxes: opened, in: state)
      let targets = kept
      guard state.totalBytes + size * targets.count <= limits.maxTotalBytes else {
        throw .resourceExhausted(
          "the router holds \(state.totalBytes) bytes of messages (at most \(limits.maxTotalBytes)): retry once receivers catch up"
        )
      }
      guard !targets.isEmpty else { return nil }
      let sequence = state.nextSequence
      state.nextSequence += 1
      var changes: [StateChange] = []
      var ids: [String] = []
      for key in targets {
        var stored = Orchion_V1_StoredMessage()
        stored.message = routed
        stored.sequence = sequence
        stored.consumer = key.consumer
        let deliveryID = Self.deliveryID(message: id, consumer: key.consumer)
        insert(
          QueuedMessage(stored: stored, bytes: size, expiresAt: now.advanced(by: ttl)),
          id: deliveryID,
          key: key,
          in: &state
        )
        ids.append(deliveryID)
        changes.append(
          .recordSaved(KeyedRecord(kind: .message, id: deliveryID, body: try Self.encode(stored)))
        )
      }
      // Deliverable only once durable: a receiver never sees what a crash could take back.
      let durableIDs = ids
      return journal.append(changes) { [self] in makeVisible(durableIDs) }
    }
    if case .task(let task) = message.to, directory.taskState(task)?.isTerminal != false {
      // The task finished between the check and the insert, and its mailbox may have been
      // dropped before this one opened: drop it again (the sender was answered as for a
      // message sent just before the task ended).
      taskFinished(task)
    }
    guard let journalEntry else {
      // A topic nobody listens to: accepted, and gone (publish/subscribe).
      return AcceptedMessage(id: id, durable: {})
    }
    return AcceptedMessage(
      id: id,
      durable: { [journal] in try await journal.waitUntilDurable(journalEntry) }
    )
  }

  /// Refuses to open `count` more mailboxes beyond ``RouterLimits/maxMailboxes``.
  private func requireRoom(forMailboxes count: Int, in state: State) throws(OrchionError) {
    guard count > 0 else { return }
    guard state.mailboxes.count + count <= limits.maxMailboxes else {
      throw .resourceExhausted(
        "the router holds \(state.mailboxes.count) mailboxes (at most \(limits.maxMailboxes), --max-mailboxes): retry once receivers catch up"
      )
    }
  }

  /// The mailboxes a message to `address` goes to.
  private func targets(of address: MessageAddress, in state: State) throws(OrchionError)
    -> [MailboxKey]
  {
    switch address {
    case .task, .node, .queue:
      return [MailboxKey(address: address, consumer: "")]
    case .topic(let name):
      let consumers = Set((state.topicConsumers[name] ?? [:]).keys)
        .union(state.namedConsumers[name] ?? [])
      return consumers.sorted().map { MailboxKey(address: address, consumer: $0) }
    }
  }

  /// Refuses a message to a task that is unknown or finished, or to an unknown node. Called
  /// before taking the router's lock.
  private func requireAddressable(_ address: MessageAddress) throws(OrchionError) {
    switch address {
    case .task(let task):
      try requireOpen(task)
    case .node(let node):
      guard directory.nodeExists(node) else {
        throw .notFound("no node is named '\(node)'")
      }
    case .queue, .topic:
      break
    }
  }

  private func requireOpen(_ task: TaskID) throws(OrchionError) {
    guard let taskState = directory.taskState(task) else {
      throw .notFound("no task \(task) (or it finished long ago)")
    }
    guard !taskState.isTerminal else {
      throw .failedPrecondition(
        "task \(task) has finished (\(taskState)): nothing would read its messages"
      )
    }
  }

  /// The mailbox of `key`, created if need be. (`mailboxes[key, default:]` would not keep a
  /// new one: mutating a class instance goes through the getter.)
  private func mailbox(_ key: MailboxKey, in state: inout State) -> Mailbox {
    if let existing = state.mailboxes[key] { return existing }
    let created = Mailbox()
    state.mailboxes[key] = created
    return created
  }

  private func insert(_ message: QueuedMessage, id: String, key: MailboxKey, in state: inout State)
  {
    mailbox(key, in: &state).messages[id] = message
    state.mailboxes[key]?.bytes += message.bytes
    if !message.visible { state.mailboxes[key]?.invisible += 1 }
    state.totalBytes += message.bytes
    state.index[id] = key
    state.expiries.push(id, at: message.expiresAt)
  }

  private func makeVisible(_ ids: [String]) {
    let now = clock.now
    state.withLock { state in
      var touched: Set<MailboxKey> = []
      for id in ids {
        guard let key = state.index[id],
          let message = state.mailboxes[key]?.messages[id], !message.visible
        else { continue }
        state.mailboxes[key]?.messages[id]?.visible = true
        state.mailboxes[key]?.invisible -= 1
        state.mailboxes[key]?.makePending(id, sequence: message.sequence)
        touched.insert(key)
      }
      for key in touched { pump(key, now: now, in: &state) }
    }
    flushDeliveries()
  }

  // MARK: Subscribing

  func subscribe(_ request: SubscriptionRequest) throws(OrchionError) -> Subscription {
    if case .task(let task) = request.address { try requireOpen(task) }
    if case .node(let node) = request.address, !directory.nodeExists(node) {
      throw .notFound("no node is named '\(node)'")
    }
    let now = clock.now
    defer { flushDeliveries() }
    return try state.withLock { state throws(OrchionError) in
      let id = state.nextSubscriber
      var consumer = ""
      if case .topic = request.address {
        // Unnamed: a name of its own, never reused, so its copies die with it.
        consumer = request.consumer.isEmpty ? "~\(id)" : request.consumer
      }
      let key = MailboxKey(address: request.address, consumer: consumer)
      if state.mailboxes[key] == nil { try requireRoom(forMailboxes: 1, in: state) }
      state.nextSubscriber += 1
      if case .topic(let name) = request.address {
        state.topicConsumers[name, default: [:]][consumer, default: 0] += 1
      }
      let subscription = Subscription(id: id, address: request.address, consumer: consumer)
      state.subscribers[id] = Subscriber(
        subscription: subscription,
        key: key,
        maxInFlight: request.maxInFlight,
        ackTimeout: request.ackTimeout,
        attempt: request.attempt,
        owner: request.owner
      )
      let mailbox = mailbox(key, in: &state)
      mailbox.subscribers.append(id)
      mailbox.awaySince = nil
      if case .topic(let name) = request.address, !consumer.hasPrefix("~") {
        register(topic: name, consumer: consumer, in: &state, durably: true)
      }
      pump(key, now: now, in: &state)
      return subscription
    }
  }

  func unsubscribe(_ subscription: Subscription) {
    end(subscription.id, error: nil)
  }

  /// Ends a subscription; what it held goes back to its mailbox.
  private func end(_ id: UInt64, error: OrchionError?) {
    let now = clock.now
    let subscription = state.withLock { state -> Subscription? in
      guard let subscriber = state.subscribers.removeValue(forKey: id) else { return nil }
      let key = subscriber.key
      if let mailbox = state.mailboxes[key] {
        mailbox.subscribers.removeAll { $0 == id }
        for (messageID, message) in mailbox.messages where message.holder == id {
          mailbox.release(messageID)
        }
      }
      if case .topic(let name) = key.address {
        let remaining = (state.topicConsumers[name]?[key.consumer] ?? 1) - 1
        state.topicConsumers[name]?[key.consumer] = remaining > 0 ? remaining : nil
        if state.topicConsumers[name]?.isEmpty == true { state.topicConsumers[name] = nil }
        if remaining <= 0, key.consumer.hasPrefix("~") {
          drop(key, in: &state)
          return subscriber.subscription
        }
        if remaining <= 0, let mailbox = state.mailboxes[key], mailbox.retained {
          // Away: its copies keep coming, until it returns or is forgotten.
          mailbox.awaySince = now
          state.awayDeadlines.push(key, at: now.advanced(by: limits.awayConsumerRetention))
        }
      }
      pump(key, now: now, in: &state)
      removeIfIdle(key, in: &state)
      return subscriber.subscription
    }
    flushDeliveries()
    if let error {
      subscription?.continuation.finish(throwing: error)
    } else {
      subscription?.continuation.finish()
    }
  }

  /// Delivers waiting messages to subscribers with room, in turn.
  private func pump(_ key: MailboxKey, now: UTCInstant, in state: inout State) {
    guard let mailbox = state.mailboxes[key], !mailbox.subscribers.isEmpty,
      mailbox.mayHavePending
    else { return }
    while true {
      var chosen: (id: UInt64, offset: Int)?
      for offset in 0..<mailbox.subscribers.count {
        let candidate = mailbox.subscriber(afterTurn: offset)
        if let subscriber = state.subscribers[candidate],
          subscriber.inFlight < subscriber.maxInFlight
        {
          chosen = (candidate, offset)
          break
        }
      }
      // The turn passes only with a message: choosing a subscriber when none was waiting
      // must not skip it (with two consumers, one got every message).
      guard let (subscriberID, offset) = chosen, var subscriber = state.subscribers[subscriberID],
        let id = mailbox.takeNext(), var message = mailbox.messages[id]
      else { return }
      mailbox.advance(past: offset)
      let deadline = now.advanced(by: subscriber.ackTimeout)
      message.deliveries += 1
      message.holder = subscriberID
      message.ackDeadline = deadline
      mailbox.messages[id] = message
      mailbox.inFlight += 1
      subscriber.inFlight += 1
      state.subscribers[subscriberID] = subscriber
      state.ackDeadlines.push(id, at: deadline)
      var delivery = Orchion_V1_Delivery()
      delivery.deliveryID = id
      delivery.message = message.stored.message
      delivery.deliveryCount = message.deliveries
      state.outbox.append((subscriber.subscription, delivery))
    }
  }

  /// Hands decided deliveries to their subscriptions, outside the lock and in the order they
  /// were decided: one caller at a time drains the outbox (the others return at once, their
  /// deliveries handed over by it), so two callers cannot swap a subscriber's messages.
  private func flushDeliveries() {
    let starts = state.withLock { state in
      guard !state.flushing, !state.outbox.isEmpty else { return false }
      state.flushing = true
      return true
    }
    guard starts else { return }
    while let batch = state.withLock({ state -> [(Subscription, Orchion_V1_Delivery)]? in
      guard !state.outbox.isEmpty else {
        state.flushing = false
        return nil
      }
      defer { state.outbox.removeAll(keepingCapacity: true) }
      return state.outbox.map { ($0.subscription, $0.delivery) }
    }) {
      for (subscription, delivery) in batch { subscription.continuation.yield(delivery) }
    }
  }

  // MARK: Acknowledging

  func acknowledge(_ deliveryIDs: [String], by acknowledger: Acknowledger)
    throws(OrchionError) -> Int
  {
    let now = clock.now
    defer { flushDeliveries() }
    return try state.withLock { state throws(OrchionError) in
      // All checked before any is removed: a refused acknowledgement changes nothing.
      var held: [String] = []
      for id in deliveryIDs {
        guard let key = state.index[id], let message = state.mailboxes[key]?.messages[id],
          let holder = message.holder
        else { continue }  // not outstanding: waiting, acknowledged or expired
        let mine =
          switch acknowledger {
          case .subscription(let subscription): holder == subscription
          case .caller(let name): state.subscribers[holder]?.owner == name
          }
        guard mine else {
          throw .permissionDenied(
            "delivery \(id) is held by another subscription: only the one it was delivered to may acknowledge it"
          )
        }
        held.append(id)
      }
      var touched: Set<MailboxKey> = []
      var changes: [StateChange] = []
      for id in held {
        guard let key = remove(id, in: &state) else { continue }
        state.mailboxes[key]?.acknowledged += 1
        touched.insert(key)
        changes.append(.recordDeleted(.message, id: id))
      }
      // Not waited for: a crash before this is durable delivers the message again, which
      // at-least-once allows and the receiver detects by ID.
      if !changes.isEmpty { journal.append(changes) }
      for key in touched {
        pump(key, now: now, in: &state)
        removeIfIdle(key, in: &state)
      }
      return changes.count
    }
  }

  /// Forgets a queued message; returns its mailbox, `nil` when it was not queued.
  private func remove(_ id: String, in state: inout State) -> MailboxKey? {
    guard let key = state.index.removeValue(forKey: id),
      let message = state.mailboxes[key]?.messages.removeValue(forKey: id)
    else { return nil }
    state.mailboxes[key]?.bytes -= message.bytes
    state.totalBytes -= message.bytes
    if !message.visible { state.mailboxes[key]?.invisible -= 1 }
    if let holder = message.holder {
      state.mailboxes[key]?.inFlight -= 1
      state.subscribers[holder]?.inFlight -= 1
    }
    return key
  }

  /// Drops a mailbox, its messages (from the store too) and its subscriptions.
  private func drop(_ key: MailboxKey, in state: inout State) {
    guard let mailbox = state.mailboxes.removeValue(forKey: key) else { return }
    var changes: [StateChange] = []
    for (id, message) in mailbox.messages {
      state.index[id] = nil
      state.totalBytes -= message.bytes
      changes.append(.recordDeleted(.message, id: id))
    }
    if !changes.isEmpty { journal.append(changes) }
  }

  private func removeIfIdle(_ key: MailboxKey, in state: inout State) {
    if state.mailboxes[key]?.isIdle == true { state.mailboxes[key] = nil }
  }

  // MARK: Named topic consumers

  /// Remembers a named consumer of `topic`: its mailbox stays while it is away, so it gets
  /// what is published meanwhile. `durably` also keeps it in the store (not when restoring).
  private func register(
    topic: String,
    consumer: String,
    in state: inout State,
    durably: Bool
  ) {
    guard state.namedConsumers[topic, default: []].insert(consumer).inserted else { return }
    state.consumerTopics[consumer, default: []].insert(topic)
    mailbox(MailboxKey(address: .topic(topic), consumer: consumer), in: &state).retained = true
    if durably {
      journal.append([
        .recordSaved(
          KeyedRecord(
            kind: .topicConsumer,
            id: Self.consumerRecordID(topic: topic, consumer: consumer),
            body: Data()
          )
        )
      ])
    }
  }

  /// Forgets a named consumer of `topic`: what waits for it is dropped unless someone is
  /// subscribed as it still (then the mailbox goes once idle).
  private func forget(topic: String, consumer: String, in state: inout State) {
    guard state.namedConsumers[topic]?.remove(consumer) != nil else { return }
    if state.namedConsumers[topic]?.isEmpty == true { state.namedConsumers[topic] = nil }
    state.consumerTopics[consumer]?.remove(topic)
    if state.consumerTopics[consumer]?.isEmpty == true { state.consumerTopics[consumer] = nil }
    journal.append([
      .recordDeleted(.topicConsumer, id: Self.consumerRecordID(topic: topic, consumer: consumer))
    ])
    let key = MailboxKey(address: .topic(topic), consumer: consumer)
    guard let mailbox = state.mailboxes[key] else { return }
    mailbox.retained = false
    mailbox.awaySince = nil
    if mailbox.subscribers.isEmpty { drop(key, in: &state) }
  }

  /// `TOPIC~CONSUMER`: neither may contain `~`.
  static func consumerRecordID(topic: String, consumer: String) -> String {
    topic + "~" + consumer
  }

  // MARK: Time and tasks

  /// Delivers again what waited past its ack timeout, drops what outlived its TTL, and ends
  /// task subscriptions whose attempt is over.
  func tick() {
    let now = clock.now
    let attempts = state.withLock { state -> [(UInt64, TaskID, AttemptID)] in
      var touched: Set<MailboxKey> = []
      while let first = state.ackDeadlines.first, first.deadline <= now {
        _ = state.ackDeadlines.popFirst()
        guard let key = state.index[first.key],
          let message = state.mailboxes[key]?.messages[first.key], let holder = message.holder,
          message.ackDeadline == first.deadline
        else { continue }
        state.mailboxes[key]?.release(first.key)
        state.subscribers[holder]?.inFlight -= 1
        touched.insert(key)
      }
      var expired: [StateChange] = []
      while let first = state.expiries.first, first.deadline <= now {
        _ = state.expiries.popFirst()
        guard let key = state.index[first.key],
          let message = state.mailboxes[key]?.messages[first.key], message.expiresAt <= now
        else { continue }
        _ = remove(first.key, in: &state)
        expired.append(.recordDeleted(.message, id: first.key))
        touched.insert(key)
      }
      if !expired.isEmpty { journal.append(expired) }
      for key in touched {
        pump(key, now: now, in: &state)
        removeIfIdle(key, in: &state)
      }
      while let first = state.awayDeadlines.first, first.deadline <= now {
        _ = state.awayDeadlines.popFirst()
        guard case .topic(let topic) = first.key.address,
          let mailbox = state.mailboxes[first.key], mailbox.retained,
          mailbox.subscribers.isEmpty, let awaySince = mailbox.awaySince,
          awaySince.advanced(by: limits.awayConsumerRetention) <= now
        else { continue }
        forget(topic: topic, consumer: first.key.consumer, in: &state)
      }
      return state.subscribers.compactMap { id, subscriber in
        subscriber.attempt.map { (id, $0.task, $0.attempt) }
      }
    }
    flushDeliveries()
    // Asked after the router's lock: the directory answers from the cluster's.
    let stale = attempts.filter { !directory.attemptIsCurrent($0.1, $0.2) }.map(\.0)
    for id in stale {
      end(id, error: .failedPrecondition("the attempt that subscribed has ended"))
    }
  }

  /// Ends every subscription (shutdown): long-lived streams would hold the server up.
  func closeSubscriptions() {
    let subscriptions = state.withLock { $0.subscribers.values.map(\.subscription) }
    for subscription in subscriptions { subscription.continuation.finish() }
  }

  /// Drops a finished task's mailbox: nothing will read it.
  func taskFinished(_ task: TaskID) {
    let key = MailboxKey(address: .task(task), consumer: "")
    let subscribers = state.withLock { state -> [UInt64] in
      let subscribers = state.mailboxes[key]?.subscribers ?? []
      drop(key, in: &state)
      // The task was a named consumer of these topics (its ID is its consumer name): nothing
      // will read its copies any more.
      for topic in state.consumerTopics[task.rawValue] ?? [] {
        forget(topic: topic, consumer: task.rawValue, in: &state)
      }
      return subscribers
    }
    for id in subscribers {
      end(id, error: .failedPrecondition("task \(task) has finished"))
    }
  }

  /// Replaces what the router holds with the messages the store holds (after a start or a
  /// takeover): every one waits to be delivered again. Messages for tasks that finished, and
  /// copies for unnamed topic subscriptions (gone with the old process), are deleted. Named
  /// topic consumers (`consumers`) are away from now on, for their full retention; those named
  /// after a task that finished are forgotten.
  func restore(_ records: [KeyedRecord], consumers: [KeyedRecord] = []) throws(OrchionError) {
    let now = clock.now
    var loaded: [(id: String, stored: Orchion_V1_StoredMessage)] = []
    for record in records {
      do {
        loaded.append((record.id, try Orchion_V1_StoredMessage(serializedBytes: record.body)))
      } catch {
        throw .dataLoss("stored message '\(record.id)' is unreadable: \(error)")
      }
    }
    loaded.sort { $0.stored.sequence < $1.stored.sequence }
    // Which tasks the messages and consumers name are still open, asked before the router's
    // lock: the directory answers from the cluster's.
    var named = Set<TaskID>()
    for (_, stored) in loaded {
      if case .task(let task)? = try? MessageAddress(parsing: stored.message.to) {
        named.insert(task)
      }
    }
    for record in consumers {
      guard let tilde = record.id.firstIndex(of: "~"),
        let task = try? TaskID(validating: String(record.id[record.id.index(after: tilde)...]))
      else { continue }
      named.insert(task)
    }
    let openTasks = named.filter { directory.taskState($0).map { !$0.isTerminal } ?? false }
    var obsolete: [StateChange] = []
    let ended = state.withLock { state in
      let ended = state.subscribers.values.map(\.subscription)
      // Subscription IDs stay unique: a handler ending an old one must not end a new one.
      let nextSubscriber = state.nextSubscriber
      state = State()
      state.nextSubscriber = nextSubscriber
      for (id, stored) in loaded {
        guard let address = try? MessageAddress(parsing: stored.message.to),
          keep(address, consumer: stored.consumer, openTasks: openTasks)
        else {
          obsolete.append(.recordDeleted(.message, id: id))
          continue
        }
        let size = size(payload: stored.message.payload, headers: stored.message.headers)
        var message = QueuedMessage(
          stored: stored,
          bytes: size,
          expiresAt: UTCInstant(stored.message.expiresAt)
        )
        message.visible = true
        let key = MailboxKey(address: address, consumer: stored.consumer)
        insert(message, id: id, key: key, in: &state)
        state.mailboxes[key]?.makePending(id, sequence: stored.sequence)
        state.nextSequence = max(state.nextSequence, stored.sequence &+ 1)
      }
      var registered: [(topic: String, consumer: String)] = []
      for record in consumers {
        guard let tilde = record.id.firstIndex(of: "~") else {
          obsolete.append(.recordDeleted(.topicConsumer, id: record.id))
          continue
        }
        let topic = String(record.id[..<tilde])
        let consumer = String(record.id[record.id.index(after: tilde)...])
        if let task = try? TaskID(validating: consumer), !openTasks.contains(task) {
          obsolete.append(.recordDeleted(.topicConsumer, id: record.id))
          continue
        }
        registered.append((topic, consumer))
      }
      // Copies kept before consumers were recorded: their consumer is remembered from them.
      let recorded = Set(
        registered.map { Self.consumerRecordID(topic: $0.topic, consumer: $0.consumer) }
      )
      for key in state.mailboxes.keys {
        guard case .topic(let topic) = key.address, !key.consumer.hasPrefix("~"),
          !recorded.contains(Self.consumerRecordID(topic: topic, consumer: key.consumer))
        else { continue }
        register(topic: topic, consumer: key.consumer, in: &state, durably: true)
      }
      for (topic, consumer) in registered {
        register(topic: topic, consumer: consumer, in: &state, durably: false)
      }
      for (topic, consumers) in state.namedConsumers {
        for consumer in consumers {
          let key = MailboxKey(address: .topic(topic), consumer: consumer)
          state.mailboxes[key]?.awaySince = now
          state.awayDeadlines.push(key, at: now.advanced(by: limits.awayConsumerRetention))
        }
      }
      if !obsolete.isEmpty { journal.append(obsolete) }
      return ended
    }
    for subscription in ended { subscription.continuation.finish() }
    if !loaded.isEmpty {
      logger.info(
        "messages restored",
        metadata: [
          "orchion.messages": "\(loaded.count - obsolete.count)",
          "orchion.dropped": "\(obsolete.count)",
        ]
      )
    }
  }

  private func keep(_ address: MessageAddress, consumer: String, openTasks: Set<TaskID>) -> Bool {
    switch address {
    case .task(let task): openTasks.contains(task)
    case .topic: !consumer.hasPrefix("~")
    case .node, .queue: true
    }
  }

  // MARK: Reading

  func mailboxes() -> [Orchion_V1_MailboxInfo] {
    state.withLock { state in
      state.mailboxes.map { key, mailbox in
        var info = Orchion_V1_MailboxInfo()
        info.address = key.address.description
        info.consumer = key.consumer
        info.pending = UInt32(mailbox.pendingCount)
        info.inFlight = UInt32(mailbox.inFlight)
        info.bytes = UInt64(mailbox.bytes)
        info.subscribers = UInt32(mailbox.subscribers.count)
        info.acknowledged = mailbox.acknowledged
        return info
      }.sorted { ($0.address, $0.consumer) < ($1.address, $1.consumer) }
    }
  }

  // MARK: Identifiers

  /// `m`, the time in milliseconds (12 hex digits, so IDs sort by time) and 16 random hex
  /// digits: unique across restarts and orchestrators without coordination.
  static func messageID(at instant: UTCInstant) -> String {
    let milliseconds = UInt64(max(0, instant.nanosecondsSinceEpoch / 1_000_000))
    return "m" + hex(milliseconds, digits: 12) + hex(UInt64.random(in: .min ... .max), digits: 16)
  }

  /// A topic's copies are told apart by consumer; everything else is delivered as itself.
  static func deliveryID(message: String, consumer: String) -> String {
    consumer.isEmpty ? message : message + "~" + consumer
  }

  private static func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }

  /// What a message counts against the limits: payload, headers and the fixed overhead.
  private func size(payload: Data, headers: [String: String]) -> Int {
    Self.size(payload: payload, headers: headers, overhead: limits.messageOverheadBytes)
  }

  static func size(payload: Data, headers: [String: String], overhead: Int) -> Int {
    headers.reduce(payload.count &+ overhead) { $0 &+ $1.key.utf8.count &+ $1.value.utf8.count }
  }

  private static func describe(_ key: MailboxKey) -> String {
    key.consumer.isEmpty ? key.address.description : "\(key.address) (consumer \(key.consumer))"
  }

  private static func encode(_ stored: Orchion_V1_StoredMessage) throws(OrchionError) -> Data {
    do { return try stored.serializedBytes() } catch {
      throw OrchionError(code: .internalError, message: "cannot encode a message: \(error)")
    }
  }
}
