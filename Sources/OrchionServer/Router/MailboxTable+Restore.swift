import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire

extension MailboxTable {
  /// A message as the store kept it, decoded before the transition.
  struct StoredCopy: Sendable {
    var id: String
    var stored: Orchion_V1_StoredMessage
  }

  /// Replaces what the table holds with what the store holds (after a start or a takeover):
  /// every message waits to be delivered again. Messages for tasks not in `openTasks`, and
  /// copies for unnamed topic subscriptions (gone with the old process), are deleted. Named
  /// topic consumers (`consumers`, by record ID) are away from now on, for their full
  /// retention; those named after a task not open are forgotten. Live subscriptions end.
  /// - Returns: The subscriptions to end, and how many messages were kept and dropped.
  mutating func restore(
    _ copies: [StoredCopy],
    consumers: [String],
    openTasks: Set<TaskID>,
    now: UTCInstant
  ) -> (actions: [ClusterAction], kept: Int, dropped: Int) {
    let ended = subscribers.keys.sorted().map { ClusterAction.endSubscription($0, nil) }
    // Subscription IDs stay unique: a handler ending an old one must not end a new one.
    let next = nextSubscriber
    let pending = changes
    self = MailboxTable(limits: limits)
    nextSubscriber = next
    changes = pending
    var dropped = 0
    for copy in copies.sorted(by: { $0.stored.sequence < $1.stored.sequence }) {
      guard let address = try? MessageAddress(parsing: copy.stored.message.to),
        Self.keep(address, consumer: copy.stored.consumer, openTasks: openTasks)
      else {
        changes.append(.recordDeleted(.message, id: copy.id))
        dropped += 1
        continue
      }
      var message = QueuedMessage(
        stored: copy.stored,
        bytes: Self.size(
          payload: copy.stored.message.payload,
          headers: copy.stored.message.headers,
          overhead: limits.messageOverheadBytes
        ),
        expiresAt: UTCInstant(copy.stored.message.expiresAt)
      )
      message.visible = true
      let key = MailboxKey(address: address, consumer: copy.stored.consumer)
      insert(message, id: copy.id, key: key)
      mailboxes[key]?.makePending(copy.id, sequence: copy.stored.sequence)
      nextSequence = max(nextSequence, copy.stored.sequence &+ 1)
    }
    var registered: [(topic: String, consumer: String)] = []
    for record in consumers {
      guard let tilde = record.firstIndex(of: "~") else {
        changes.append(.recordDeleted(.topicConsumer, id: record))
        continue
      }
      let topic = String(record[..<tilde])
      let consumer = String(record[record.index(after: tilde)...])
      if let task = try? TaskID(validating: consumer), !openTasks.contains(task) {
        changes.append(.recordDeleted(.topicConsumer, id: record))
        continue
      }
      registered.append((topic, consumer))
    }
    // Copies kept before consumers were recorded: their consumer is remembered from them.
    let recorded = Set(
      registered.map { Self.consumerRecordID(topic: $0.topic, consumer: $0.consumer) }
    )
    for key in mailboxes.keys.sorted(by: { Self.describe($0) < Self.describe($1) }) {
      guard case .topic(let topic) = key.address, !key.consumer.hasPrefix("~"),
        !recorded.contains(Self.consumerRecordID(topic: topic, consumer: key.consumer))
      else { continue }
      register(topic: topic, consumer: key.consumer, durably: true)
    }
    for (topic, consumer) in registered {
      register(topic: topic, consumer: consumer, durably: false)
    }
    for (topic, consumers) in namedConsumers {
      for consumer in consumers {
        let key = MailboxKey(address: .topic(topic), consumer: consumer)
        mailboxes[key]?.awaySince = now
        awayDeadlines.push(key, at: now.advanced(by: limits.awayConsumerRetention))
      }
    }
    return (ended, copies.count - dropped, dropped)
  }

  /// The tasks a store's messages and consumer records name: whether each is still open is
  /// the cluster's to say.
  static func tasksNamed(by copies: [StoredCopy], consumers: [String]) -> Set<TaskID> {
    var named = Set<TaskID>()
    for copy in copies {
      if case .task(let task)? = try? MessageAddress(parsing: copy.stored.message.to) {
        named.insert(task)
      }
    }
    for record in consumers {
      guard let tilde = record.firstIndex(of: "~"),
        let task = try? TaskID(validating: String(record[record.index(after: tilde)...]))
      else { continue }
      named.insert(task)
    }
    return named
  }

  private static func keep(
    _ address: MessageAddress,
    consumer: String,
    openTasks: Set<TaskID>
  ) -> Bool {
    switch address {
    case .task(let task): openTasks.contains(task)
    case .topic: !consumer.hasPrefix("~")
    case .node, .queue: true
    }
  }

  /// What a message counts against the limits: payload, headers and the fixed overhead.
  static func size(payload: Data, headers: [String: String], overhead: Int) -> Int {
    headers.reduce(payload.count &+ overhead) { $0 &+ $1.key.utf8.count &+ $1.value.utf8.count }
  }
}
