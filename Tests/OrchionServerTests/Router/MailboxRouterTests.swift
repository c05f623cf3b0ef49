import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionServer

/// The router on its own: a real in-memory SQLite store behind its journal, a manual clock,
/// and a directory the test controls.
@Suite("MailboxRouter", .timeLimit(.minutes(1)))
struct MailboxRouterTests {
  final class Directory: Sendable {
    let tasks = Mutex<[TaskID: TaskState]>([:])
    let currentAttempts = Mutex<Set<AttemptID>>([])

    var value: RouterDirectory {
      RouterDirectory(
        taskState: { task in self.tasks.withLock { $0[task] } },
        nodeExists: { _ in false },
        attemptIsCurrent: { _, attempt in self.currentAttempts.withLock { $0.contains(attempt) } }
      )
    }
  }

  static let mailboxBound = 100
  let clock = ManualClock()
  let store: SQLiteStore
  let journal: Journal
  let directory = Directory()
  let router: MailboxRouter

  init() throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    store = try SQLiteStore.inMemory()
    journal = Journal(store: store, logger: logger, clock: clock)
    router = MailboxRouter(
      journal: journal,
      clock: clock,
      directory: directory.value,
      limits: RouterLimits.defaults(maxMessagesPerMailbox: Self.mailboxBound, maxMailboxes: 10),
      logger: logger
    )
  }

  func withJournal(_ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await journal.run() }
      defer { journal.close() }
      try await body()
    }
  }

  @discardableResult
  func send(_ to: MessageAddress, _ text: String) async throws -> String {
    let accepted = try router.accept(
      OutgoingMessage(to: to, payload: Data(text.utf8), headers: [:], ttl: nil),
      from: "test"
    )
    try await accepted.durable()
    return accepted.id
  }

  func subscribe(
    _ address: MessageAddress,
    maxInFlight: Int = 10,
    ackTimeout: Duration = .seconds(30),
    attempt: (task: TaskID, attempt: AttemptID)? = nil
  ) throws -> Subscription {
    try router.subscribe(
      SubscriptionRequest(
        address: address,
        consumer: "",
        maxInFlight: maxInFlight,
        ackTimeout: ackTimeout,
        attempt: attempt,
        owner: "test"
      )
    )
  }

  func text(_ delivery: Orchion_V1_Delivery) -> String {
    String(decoding: delivery.message.payload, as: UTF8.self)
  }

  @Test("a queue's messages arrive in the order they were sent, each once durable")
  func fifo() async throws {
    try await withJournal {
      let subscription = try subscribe(.queue("jobs"))
      for n in 0..<50 { try await send(.queue("jobs"), "m\(n)") }
      var received: [String] = []
      for try await delivery in subscription.deliveries {
        received.append(text(delivery))
        _ = try router.acknowledge([delivery.deliveryID], by: .subscription(subscription.id))
        if received.count == 50 { break }
      }
      #expect(received == (0..<50).map { "m\($0)" })
      try await eventually { try await store.records(.message).isEmpty }
    }
  }

  @Test("two consumers of a queue take turns, each in sending order")
  func turns() async throws {
    try await withJournal {
      let first = try subscribe(.queue("q"))
      let second = try subscribe(.queue("q"))
      for n in 0..<4 { try await send(.queue("q"), "m\(n)") }
      var firstIterator = first.deliveries.makeAsyncIterator()
      var secondIterator = second.deliveries.makeAsyncIterator()
      var toFirst: [String] = []
      var toSecond: [String] = []
      for _ in 0..<2 {
        toFirst.append(try #require(try await firstIterator.next()).message.payload.text)
        toSecond.append(try #require(try await secondIterator.next()).message.payload.text)
      }
      #expect(toFirst == ["m0", "m2"])
      #expect(toSecond == ["m1", "m3"])
    }
  }

  @Test(
    "what a subscriber holds past its ack timeout is delivered again, with the same ID, before what came after it"
  )
  func redelivery() async throws {
    try await withJournal {
      let subscription = try subscribe(.queue("q"), maxInFlight: 1, ackTimeout: .seconds(5))
      try await send(.queue("q"), "a")
      try await send(.queue("q"), "b")
      var iterator = subscription.deliveries.makeAsyncIterator()
      let first = try #require(try await iterator.next())
      #expect(text(first) == "a")
      // Not acknowledged: "b" waits (one in flight at most), until the timeout passes.
      clock.advance(by: .seconds(4))
      router.tick()
      clock.advance(by: .seconds(2))
      router.tick()
      let again = try #require(try await iterator.next())
      #expect(again.deliveryID == first.deliveryID)
      #expect(again.deliveryCount == 2)
      _ = try router.acknowledge([again.deliveryID], by: .subscription(subscription.id))
      #expect(try #require(try await iterator.next()).message.payload.text == "b")
    }
  }

  @Test(
    "only the subscription holding a delivery may acknowledge it, and a refusal changes nothing"
  )
  func acknowledgeByHolder() async throws {
    try await withJournal {
      let holder = try subscribe(.queue("q"))
      let other = try subscribe(.queue("q"), maxInFlight: 0)
      try await send(.queue("q"), "x")
      var iterator = holder.deliveries.makeAsyncIterator()
      let delivery = try #require(try await iterator.next())
      let refused = #expect(throws: OrchionError.self) {
        try router.acknowledge([delivery.deliveryID], by: .subscription(other.id))
      }
      #expect(refused?.code == .permissionDenied)
      #expect(try router.acknowledge([delivery.deliveryID], by: .subscription(holder.id)) == 1)
      #expect(try router.acknowledge([delivery.deliveryID], by: .subscription(holder.id)) == 0)
    }
  }

  @Test("a message outliving its TTL is dropped from the mailbox and the store")
  func expiry() async throws {
    try await withJournal {
      let accepted = try router.accept(
        OutgoingMessage(to: .queue("q"), payload: Data("x".utf8), headers: [:], ttl: .seconds(10)),
        from: "test"
      )
      try await accepted.durable()
      #expect(try await store.records(.message).count == 1)
      clock.advance(by: .seconds(11))
      router.tick()
      try await eventually { try await store.records(.message).isEmpty }
      #expect(router.mailboxes().isEmpty)
    }
  }

  @Test("a full mailbox refuses the next message with RESOURCE_EXHAUSTED and keeps what it holds")
  func fullMailbox() async throws {
    try await withJournal {
      for n in 0..<Self.mailboxBound { try await send(.queue("q"), "m\(n)") }
      do {
        try await send(.queue("q"), "one too many")
        Issue.record("a message beyond the bound was accepted")
      } catch let error as OrchionError {
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("is full"), "\(error)")
      }
      #expect(try await store.records(.message).count == Self.mailboxBound)
    }
  }

  @Test(
    "messages to a finished or unknown task are refused; a subscription of an attempt ends with it"
  )
  func tasks() async throws {
    try await withJournal {
      let task = TaskID(createdAt: clock.now, sequence: 1)
      var generator = SystemRandomNumberGenerator()
      let attempt = AttemptID.random(using: &generator)
      do {
        try await send(.task(task), "x")
        Issue.record("accepted a message to an unknown task")
      } catch let error as OrchionError {
        #expect(error.code == .notFound)
      }
      directory.tasks.withLock { $0[task] = .running }
      directory.currentAttempts.withLock { _ = $0.insert(attempt) }
      let subscription = try subscribe(.task(task), attempt: (task, attempt))
      try await send(.task(task), "hello")
      var iterator = subscription.deliveries.makeAsyncIterator()
      #expect(try await iterator.next().map(text) == "hello")

      // The attempt ends: the next tick ends its subscription.
      directory.currentAttempts.withLock { $0.removeAll() }
      router.tick()
      let ended = await #expect(throws: OrchionError.self) { _ = try await iterator.next() }
      #expect(ended?.code == .failedPrecondition)
      #expect(ended?.message == "the attempt that subscribed has ended")

      directory.tasks.withLock { $0[task] = .succeeded }
      do {
        try await send(.task(task), "late")
        Issue.record("accepted a message to a finished task")
      } catch let error as OrchionError {
        #expect(error.code == .failedPrecondition)
      }
    }
  }

}

extension Data {
  fileprivate var text: String { String(decoding: self, as: UTF8.self) }
}
