import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionServer

/// The router as the cluster runs it: its mailboxes are part of the one state, over a real
/// in-memory SQLite store behind the journal and a manual clock; tasks and nodes are real ones
/// of the same cluster.
@Suite("MailboxRouter", .timeLimit(.minutes(1)))
struct MailboxRouterTests {
  static let mailboxBound = 100
  let harness: ClusterHarness
  let router: MailboxRouter
  var clock: ManualClock { harness.clock }
  var store: SQLiteStore { harness.store }
  var cluster: OrchionServer.Cluster { harness.cluster }

  init() throws {
    let limits = RouterLimits.defaults(maxMessagesPerMailbox: Self.mailboxBound, maxMailboxes: 10)
    harness = try ClusterHarness(router: limits)
    router = MailboxRouter(cluster: harness.cluster, limits: limits)
  }

  func withJournal(_ body: () async throws -> Void) async throws {
    try await harness.withJournal(body)
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
      cluster.tick()
      clock.advance(by: .seconds(2))
      cluster.tick()
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
      cluster.tick()
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

  /// A task running on a node of the cluster: its ID and attempt.
  func runningTask() async throws -> (task: TaskID, attempt: AttemptID, node: NodeID) {
    let node = try cluster.register(NodeRegistration(id: try NodeID(validating: "n1"))).node.id
    let (_, messages) = harness.connect(node)
    let task = try await cluster.submit(TaskSpec(command: ["true"]))
    cluster.schedulePass()
    var iterator = messages.makeAsyncIterator()
    guard case .assign(let assign) = try #require(await iterator.next()).kind else {
      throw OrchionError(code: .internalError, message: "expected an assignment")
    }
    let attempt = try AttemptID(validating: assign.attemptID)
    cluster.report(
      [AttemptReport(task: task.id, attempt: attempt, state: .running, message: "", time: clock.now)],
      from: node
    )
    return (task.id, attempt, node)
  }

  /// The agent reports the attempt succeeded: the task is finished.
  func succeed(_ task: TaskID, _ attempt: AttemptID, on node: NodeID) {
    cluster.report(
      [
        AttemptReport(
          task: task,
          attempt: attempt,
          state: .succeeded,
          exitCode: 0,
          message: "",
          time: clock.now
        )
      ],
      from: node
    )
  }

  @Test(
    "messages to an unknown task are refused; a subscription of an attempt ends with it, at the next tick"
  )
  func attemptEnds() async throws {
    try await withJournal {
      let unknown = TaskID(createdAt: clock.now, sequence: 99)
      do {
        try await send(.task(unknown), "x")
        Issue.record("accepted a message to an unknown task")
      } catch let error as OrchionError {
        #expect(error.code == .notFound)
      }
      let (task, attempt, node) = try await runningTask()
      let subscription = try subscribe(.task(task), attempt: (task, attempt))
      try await send(.task(task), "hello")
      var iterator = subscription.deliveries.makeAsyncIterator()
      #expect(try await iterator.next().map(text) == "hello")

      // The node leaves: the attempt is over and the task waits for another; the next tick
      // ends the subscription the attempt opened.
      _ = try cluster.leave(node)
      #expect(cluster.state(of: task) == .pending)
      cluster.tick()
      let ended = await #expect(throws: OrchionError.self) { _ = try await iterator.next() }
      #expect(ended?.code == .failedPrecondition)
      #expect(ended?.message == "the attempt that subscribed has ended")
    }
  }

  @Test(
    "a task's end drops its mailbox, from the store too, and ends its subscriptions in the same transition; later messages are refused"
  )
  func taskFinishes() async throws {
    try await withJournal {
      let (task, attempt, node) = try await runningTask()
      let reader = try subscribe(.task(task), maxInFlight: 1)
      // Takes none: what the reader has no room for waits in the mailbox.
      let idle = try subscribe(.task(task), maxInFlight: 0)
      try await send(.task(task), "one")
      try await send(.task(task), "two")
      #expect(try await store.records(.message).count == 2)
      var fromReader = reader.deliveries.makeAsyncIterator()
      #expect(try await fromReader.next().map(text) == "one")

      succeed(task, attempt, on: node)
      // No tick: the report itself ended them, and nothing more was delivered.
      #expect(router.mailboxes().isEmpty)
      var fromIdle = idle.deliveries.makeAsyncIterator()
      for ended in [
        await #expect(throws: OrchionError.self) { _ = try await fromReader.next() },
        await #expect(throws: OrchionError.self) { _ = try await fromIdle.next() },
      ] {
        #expect(ended?.message == "task \(task) has finished")
      }
      try await eventually { try await store.records(.message).isEmpty }
      do {
        try await send(.task(task), "late")
        Issue.record("accepted a message to a finished task")
      } catch let error as OrchionError {
        #expect(error.code == .failedPrecondition)
      }
    }
  }

  @Test(
    "messages sent while their task finishes either are refused or go with the mailbox: none is left behind"
  )
  func sendRacesFinish() async throws {
    try await withJournal {
      let (task, attempt, node) = try await runningTask()
      let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
        group.addTask {
          succeed(task, attempt, on: node)
          return 0
        }
        group.addTask {
          var accepted = 0
          for n in 0..<50 {
            do {
              try await send(.task(task), "m\(n)")
              accepted += 1
            } catch let error as OrchionError {
              #expect(error.code == .failedPrecondition, "\(error)")
            }
          }
          return accepted
        }
        return try await group.reduce(0, +)
      }
      #expect(cluster.state(of: task) == .succeeded)
      #expect(router.mailboxes().isEmpty, "\(accepted) accepted")
      try await eventually { try await store.records(.message).isEmpty }
    }
  }

  @Test("a restore keeps open tasks' and queues' messages and drops those of finished tasks")
  func restore() async throws {
    try await withJournal {
      let (task, attempt, node) = try await runningTask()
      try await send(.task(task), "for the task")
      try await send(.queue("q"), "for the queue")
      let records = try await store.records(.message)
      #expect(records.count == 2)
      let before = try subscribe(.queue("q"), maxInFlight: 0)

      try cluster.restoreMessages(records, consumers: [])
      // The old subscription ends: the state it read was replaced.
      var ended = before.deliveries.makeAsyncIterator()
      #expect(try await ended.next() == nil)
      let summaries = router.mailboxes().map { "\($0.address) \($0.pending)" }
      #expect(summaries.sorted() == ["queue/q 1", "task/\(task) 1"])

      succeed(task, attempt, on: node)
      try cluster.restoreMessages(records, consumers: [])
      #expect(router.mailboxes().map(\.address) == ["queue/q"])
      let queue = try subscribe(.queue("q"))
      var iterator = queue.deliveries.makeAsyncIterator()
      #expect(try await iterator.next().map(text) == "for the queue")
    }
  }
}

extension Data {
  fileprivate var text: String { String(decoding: self, as: UTF8.self) }
}
