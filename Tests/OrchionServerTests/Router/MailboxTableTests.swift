import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@testable import OrchionServer

/// The mailboxes as a pure value: each transition's deliveries, subscription ends and store
/// changes, with no journal, lock or clock.
@Suite("MailboxTable transitions")
struct MailboxTableTests {
  let start = UTCInstant(nanosecondsSinceEpoch: 1_800_000_000_000_000_000)
  var table = MailboxTable(limits: .defaults)

  func arrival(_ text: String, id: String, ttl: Duration = .seconds(60)) throws
    -> MailboxTable.Arrival
  {
    var message = Orchion_V1_RoutedMessage()
    message.id = id
    message.payload = Data(text.utf8)
    message.to = "queue/q"
    var stored = Orchion_V1_StoredMessage()
    stored.message = message
    return MailboxTable.Arrival(
      message: message,
      encodedMessage: try stored.serializedBytes(),
      size: text.utf8.count + 256,
      expiresAt: start.advanced(by: ttl)
    )
  }

  func request(_ address: MessageAddress, maxInFlight: Int = 10, consumer: String = "")
    -> SubscriptionRequest
  {
    SubscriptionRequest(
      address: address,
      consumer: consumer,
      maxInFlight: maxInFlight,
      ackTimeout: .seconds(5),
      attempt: nil,
      owner: "test"
    )
  }

  /// The delivered message IDs and to whom, in order.
  func deliveries(_ actions: [ClusterAction]) -> [String] {
    actions.compactMap {
      if case .deliver(let subscription, let delivery) = $0 {
        return "\(delivery.id)→\(subscription)"
      }
      return nil
    }
  }

  @Test("a message is not delivered before it is revealed, and its record holds sequence and consumer")
  mutating func invisibleUntilRevealed() throws {
    let subscriber = try table.subscribe(request(.queue("q")), now: start)
    #expect(subscriber.actions.isEmpty)
    let ids = try table.accept(try arrival("a", id: "m1"), to: .queue("q"))
    #expect(ids == ["m1"])
    let changes = table.takeChanges()
    guard case .recordSaved(let record) = try #require(changes.first) else {
      Issue.record("expected the message's record, got \(changes)")
      return
    }
    // The record is the message's encoding followed by its place: one StoredMessage.
    let stored = try Orchion_V1_StoredMessage(serializedBytes: record.body)
    #expect(stored.sequence == 1)
    #expect(stored.message.id == "m1")
    #expect(String(decoding: stored.message.payload, as: UTF8.self) == "a")
    #expect(deliveries(table.reveal(ids, now: start)) == ["m1→\(subscriber.id)"])
    // Revealed twice: nothing more.
    #expect(table.reveal(ids, now: start).isEmpty)
  }

  @Test("a subscription that ends gives back what it held, to the next subscriber, and ends")
  mutating func endReleases() throws {
    let first = try table.subscribe(request(.queue("q"), maxInFlight: 1), now: start)
    let second = try table.subscribe(request(.queue("q"), maxInFlight: 0), now: start)
    let ids = try table.accept(try arrival("a", id: "m1"), to: .queue("q"))
    #expect(deliveries(table.reveal(ids, now: start)) == ["m1→\(first.id)"])
    let actions = table.end(first.id, error: nil, now: start)
    guard case .endSubscription(let ended, nil) = try #require(actions.first) else {
      Issue.record("expected the subscription to end first, got \(actions)")
      return
    }
    #expect(ended == first.id)
    // The second has no room: the message waits for a third.
    #expect(deliveries(actions).isEmpty)
    let third = try table.subscribe(request(.queue("q")), now: start)
    #expect(deliveries(third.actions) == ["m1→\(third.id)"])
    #expect(table.summaries.first?.subscribers == 2)
    _ = second
  }

  @Test("an acknowledgement deletes the record and makes room for the next delivery")
  mutating func acknowledgeMakesRoom() throws {
    let subscriber = try table.subscribe(request(.queue("q"), maxInFlight: 1), now: start)
    var ids: [String] = []
    for n in 1...2 { ids += try table.accept(try arrival("m", id: "m\(n)"), to: .queue("q")) }
    _ = table.takeChanges()
    #expect(deliveries(table.reveal(ids, now: start)) == ["m1→\(subscriber.id)"])
    let (count, actions) = try table.acknowledge(
      ["m1", "unknown"],
      by: .subscription(subscriber.id),
      now: start
    )
    #expect(count == 1)
    #expect(deliveries(actions) == ["m2→\(subscriber.id)"])
    guard case .recordDeleted(.message, let id) = try #require(table.takeChanges().first) else {
      Issue.record("expected the record deleted")
      return
    }
    #expect(id == "m1")
  }

  @Test("ack timeouts deliver again with the same ID; TTLs delete; both only once due")
  mutating func timers() throws {
    let subscriber = try table.subscribe(request(.queue("q"), maxInFlight: 1), now: start)
    let ids = try table.accept(try arrival("a", id: "m1", ttl: .seconds(8)), to: .queue("q"))
    _ = table.takeChanges()
    _ = table.reveal(ids, now: start)
    #expect(table.tick(now: start.advanced(by: .seconds(4))).isEmpty)
    let again = table.tick(now: start.advanced(by: .seconds(5)))
    #expect(deliveries(again) == ["m1→\(subscriber.id)"])
    guard case .deliver(_, let delivery) = try #require(again.first) else { return }
    #expect(delivery.count == 2)
    #expect(table.takeChanges().isEmpty)
    _ = table.tick(now: start.advanced(by: .seconds(8)))
    #expect(table.summaries.first?.pending == 0)
    #expect(table.summaries.first?.inFlight == 0)
    guard case .recordDeleted(.message, "m1") = try #require(table.takeChanges().first) else {
      Issue.record("expected the expired record deleted")
      return
    }
  }

  @Test("a topic copies to each consumer; an unnamed one's copies die with it, a named one's wait")
  mutating func topics() throws {
    let named = try table.subscribe(request(.topic("t"), consumer: "audit"), now: start)
    let unnamed = try table.subscribe(request(.topic("t")), now: start)
    #expect(unnamed.consumer == "~\(unnamed.id)")
    _ = table.end(named.id, error: nil, now: start)
    _ = table.end(unnamed.id, error: nil, now: start)
    _ = table.takeChanges()
    let ids = try table.accept(try arrival("x", id: "m1"), to: .topic("t"))
    #expect(ids == ["m1~audit"])
    let back = try table.subscribe(request(.topic("t"), consumer: "audit"), now: start)
    #expect(deliveries(table.reveal(ids, now: start)) == ["m1~audit→\(back.id)"])
  }

  @Test("a finished task's mailbox goes, records too, and its readers end with the reason")
  mutating func taskFinished() throws {
    let task = TaskID(createdAt: start, sequence: 1)
    let reader = try table.subscribe(request(.task(task), maxInFlight: 0), now: start)
    _ = try table.accept(try arrival("a", id: "m1"), to: .task(task))
    _ = table.takeChanges()
    let actions = table.taskFinished(task, now: start)
    guard case .endSubscription(let id, let error?) = try #require(actions.first) else {
      Issue.record("expected the reader to end, got \(actions)")
      return
    }
    #expect(id == reader.id)
    #expect(error.message == "task \(task) has finished")
    #expect(table.summaries.isEmpty)
    guard case .recordDeleted(.message, "m1") = try #require(table.takeChanges().first) else {
      Issue.record("expected the record deleted")
      return
    }
  }

  @Test("a full mailbox refuses with RESOURCE_EXHAUSTED and changes nothing")
  mutating func full() throws {
    var limits = RouterLimits.defaults
    limits.maxMessagesPerMailbox = 1
    table = MailboxTable(limits: limits)
    _ = try table.accept(try arrival("a", id: "m1"), to: .queue("q"))
    _ = table.takeChanges()
    let refused = #expect(throws: OrchionError.self) {
      try table.accept(try arrival("b", id: "m2"), to: .queue("q"))
    }
    #expect(refused?.code == .resourceExhausted)
    #expect(table.takeChanges().isEmpty)
    #expect(table.index.keys.sorted() == ["m1"])
  }
}
