import Foundation
import OrchionCore
import OrchionStore

extension MailboxTable {
  /// Remembers a named consumer of `topic`: its mailbox stays while it is away, so it gets
  /// what is published meanwhile. `durably` also keeps it in the store (not when restoring).
  mutating func register(topic: String, consumer: String, durably: Bool) {
    guard namedConsumers[topic, default: []].insert(consumer).inserted else { return }
    consumerTopics[consumer, default: []].insert(topic)
    let key = MailboxKey(address: .topic(topic), consumer: consumer)
    if mailboxes[key] == nil { mailboxes[key] = Mailbox() }
    mailboxes[key]?.retained = true
    if durably {
      changes.append(
        .recordSaved(
          KeyedRecord(
            kind: .topicConsumer,
            id: Self.consumerRecordID(topic: topic, consumer: consumer),
            body: Data()
          )
        )
      )
    }
  }

  /// Forgets a named consumer of `topic`: what waits for it is dropped unless someone is
  /// subscribed as it still (then the mailbox goes once idle).
  mutating func forget(topic: String, consumer: String) {
    guard namedConsumers[topic]?.remove(consumer) != nil else { return }
    if namedConsumers[topic]?.isEmpty == true { namedConsumers[topic] = nil }
    consumerTopics[consumer]?.remove(topic)
    if consumerTopics[consumer]?.isEmpty == true { consumerTopics[consumer] = nil }
    changes.append(
      .recordDeleted(.topicConsumer, id: Self.consumerRecordID(topic: topic, consumer: consumer))
    )
    let key = MailboxKey(address: .topic(topic), consumer: consumer)
    guard mailboxes[key] != nil else { return }
    mailboxes[key]?.retained = false
    mailboxes[key]?.awaySince = nil
    if mailboxes[key]?.subscribers.isEmpty == true { drop(key) }
  }

  /// `TOPIC~CONSUMER`: neither may contain `~`.
  static func consumerRecordID(topic: String, consumer: String) -> String {
    topic + "~" + consumer
  }
}
