import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionStore
import OrchionTestSupport
import SwiftProtobuf
import Synchronization
import Testing

@Suite("RouterService over gRPC")
struct RouterServiceTests {
  func send(
    _ client: InProcessClient,
    _ to: String,
    _ payload: String,
    ttl: Duration? = nil
  ) async throws -> String {
    try await client.send(to: to, payload: Data(payload.utf8), ttl: ttl)
  }

  /// Receives `count` deliveries from `address`, acknowledging each unless `acknowledge` is off.
  func receive(
    _ client: InProcessClient,
    _ address: String,
    count: Int,
    consumer: String = "",
    acknowledge: Bool = true
  ) async throws -> [Orchion_V1_Delivery] {
    let received = MutexBox<[Orchion_V1_Delivery]>([])
    try await client.receive(
      from: address,
      consumer: consumer,
      maxInFlight: UInt32(min(count, 256)),
      acknowledge: acknowledge
    ) { delivery in
      received.withLock { $0.append(delivery) }
      return received.withLock { $0.count } < count
    }
    return received.withLock { $0 }
  }

  func mailboxes(_ client: InProcessClient) async throws -> [Orchion_V1_MailboxInfo] {
    try await client.router.listMailboxes(.init()).mailboxes
  }

  func payloads(_ deliveries: [Orchion_V1_Delivery]) -> [String] {
    deliveries.map { String(decoding: $0.message.payload, as: UTF8.self) }
  }

  @Test("a queue delivers in the order sent, once acknowledged the mailbox is empty")
  func fifoAndAck() async throws {
    try await withOrchestrator { _, client in
      var ids: [String] = []
      for index in 1...50 { ids.append(try await send(client, "queue/jobs", "job-\(index)")) }
      #expect(Set(ids).count == 50)
      let pending = try await mailboxes(client)
      #expect(pending.map(\.address) == ["queue/jobs"])
      #expect(pending.first?.pending == 50)

      let deliveries = try await receive(client, "queue/jobs", count: 50)
      #expect(payloads(deliveries) == (1...50).map { "job-\($0)" })
      #expect(deliveries.map(\.message.id) == ids)
      #expect(
        deliveries.allSatisfy { $0.deliveryCount == 1 && $0.message.from == "client/configured" }
      )
      try await eventually { try await mailboxes(client).isEmpty }
    }
  }

  @Test("pipelined sends keep their order and answer each message")
  func pipelined() async throws {
    try await withOrchestrator { _, client in
      let accepted = MutexBox<[String]>([])
      try await client.sendPipelined(
        { writer in
          for index in 1...2_000 {
            try await writer.write(
              .with {
                $0.to = "queue/fast"
                $0.payload = Data("\(index)".utf8)
              }
            )
          }
        },
        accepted: { id in accepted.withLock { $0.append(id) } }
      )
      #expect(accepted.withLock { $0.count } == 2_000)
      let deliveries = try await receive(client, "queue/fast", count: 2_000)
      #expect(payloads(deliveries) == (1...2_000).map { "\($0)" })
      #expect(deliveries.map(\.message.id) == accepted.withLock { $0 })
    }
  }

  @Test(
    "unacknowledged deliveries come back: when the subscription ends, and after the ack timeout"
  )
  func redelivery() async throws {
    let clock = ManualClock()
    try await withOrchestrator(clock: clock) { _, client in
      for index in 1...3 { _ = try await send(client, "queue/retry", "\(index)") }
      let first = try await receive(client, "queue/retry", count: 2, acknowledge: false)
      #expect(payloads(first) == ["1", "2"])
      // The subscription ended holding 1 and 2: they go back to their place, before 3.
      let again = try await receive(client, "queue/retry", count: 3)
      #expect(payloads(again) == ["1", "2", "3"])
      #expect(again.map(\.deliveryCount) == [2, 2, 1])
      #expect(again.map(\.message.id) == first.map(\.message.id) + [again[2].message.id])

      _ = try await send(client, "queue/retry", "late")
      let counts = MutexBox<[UInt32]>([])
      try await client.receive(
        from: "queue/retry",
        maxInFlight: 1,
        ackTimeout: .seconds(5),
        acknowledge: false
      ) { delivery in
        counts.withLock { $0.append(delivery.deliveryCount) }
        // Unacknowledged past its timeout, the same subscription gets it again.
        if delivery.deliveryCount == 1 { clock.advance(by: .seconds(6)) }
        return delivery.deliveryCount < 2
      }
      #expect(counts.withLock { $0 } == [1, 2])
    }
  }

  @Test("a message outliving its TTL is dropped")
  func ttl() async throws {
    let clock = ManualClock()
    try await withOrchestrator(clock: clock) { _, client in
      _ = try await send(client, "queue/short", "gone", ttl: .seconds(2))
      _ = try await send(client, "queue/short", "kept", ttl: .seconds(60))
      clock.advance(by: .seconds(3))
      try await eventually { try await mailboxes(client).first?.pending == 1 }
      let kept = try await receive(client, "queue/short", count: 1)
      #expect(payloads(kept) == ["kept"])
    }
  }

  @Test("a task's mailbox holds messages until it runs and is dropped when it finishes")
  func taskMailbox() async throws {
    try await withOrchestrator { _, client in
      let task = try await client.tasks.submitTask(.with { $0.spec.command = ["true"] }).task
      _ = try await send(client, "task/\(task.id)", "for later")
      #expect(try await mailboxes(client).map(\.address) == ["task/\(task.id)"])

      _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
      try await eventually { try await mailboxes(client).isEmpty }
      let finished = await expectRPCError(.failedPrecondition) {
        try await send(client, "task/\(task.id)", "too late")
      }
      #expect(finished.contains("has finished"))
      await expectRPCError(.notFound) {
        try await send(client, "task/t0000000000000000000a", "nobody")
      }
      await expectRPCError(.notFound) { try await send(client, "node/nowhere", "nobody") }
      await expectRPCError(.notFound) {
        try await receive(client, "task/t0000000000000000000a", count: 1)
      }
    }
  }

  @Test(
    "a topic copies each message to every current subscriber; a named consumer gets what it missed"
  )
  func topics() async throws {
    try await withOrchestrator { _, client in
      // Nobody listens: accepted, and gone.
      _ = try await send(client, "topic/news", "unheard")
      #expect(try await mailboxes(client).isEmpty)

      let subscribed = MutexBox(0)
      let results = MutexBox<[String: [String]]>([:])
      try await withThrowingTaskGroup(of: Void.self) { group in
        for name in ["alpha", "beta", ""] {
          group.addTask {
            try await client.receive(
              from: "topic/news",
              consumer: name,
              subscribed: { _ in subscribed.withLock { $0 += 1 } }
            ) { delivery in
              let payload = String(decoding: delivery.message.payload, as: UTF8.self)
              let count = results.withLock { results in
                results[name, default: []].append(payload)
                return results[name, default: []].count
              }
              return count < 3
            }
          }
        }
        try await eventually { subscribed.withLock { $0 } == 3 }
        for index in 1...3 { _ = try await send(client, "topic/news", "n\(index)") }
        try await group.waitForAll()
      }
      #expect(
        results.withLock { $0 } == [
          "alpha": ["n1", "n2", "n3"], "beta": ["n1", "n2", "n3"], "": ["n1", "n2", "n3"],
        ]
      )

      // beta stays subscribed, alpha is away: its copy waits for it; the unnamed one is gone.
      try await withThrowingTaskGroup(of: [Orchion_V1_Delivery].self) { group in
        let betaSubscribed = MutexBox(false)
        group.addTask {
          let received = MutexBox<[Orchion_V1_Delivery]>([])
          try await client.receive(
            from: "topic/news",
            consumer: "beta",
            subscribed: { _ in betaSubscribed.withLock { $0 = true } }
          ) { delivery in
            received.withLock { $0.append(delivery) }
            return false
          }
          return received.withLock { $0 }
        }
        try await eventually { betaSubscribed.withLock { $0 } }
        _ = try await send(client, "topic/news", "n4")
        let beta = try await group.next() ?? []
        #expect(payloads(beta) == ["n4"])
      }
      // alpha was away when n4 was published: its copy waits for it (the unnamed
      // subscription's did not).
      let left = try await mailboxes(client)
      #expect(
        left.map { "\($0.address) \($0.consumer) \($0.pending)" } == [
          "topic/news alpha 1", "topic/news beta 0",
        ]
      )
      let alpha = try await receive(client, "topic/news", count: 1, consumer: "alpha")
      #expect(payloads(alpha) == ["n4"])
    }
  }

  @Test(
    "a named topic consumer away across a restart still gets what was published; after its retention it is forgotten"
  )
  func awayConsumerDurableAndForgotten() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-router-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = Orchestrator.Configuration.testing
    configuration.store = .sqlite(path: directory + "/orchion.db")
    configuration.secretsKey = Array(repeating: 7, count: 32)
    let clock = ManualClock()
    try await withOrchestrator(configuration: configuration, clock: clock) { _, client in
      // Subscribes and leaves at once: from now on it is away.
      try await client.router.subscribe(
        requestProducer: { writer in
          try await writer.write(
            .with {
              $0.open.address = "topic/alerts"
              $0.open.consumer = "pager"
            }
          )
        },
        onResponse: { response in for try await _ in response.messages {} }
      )
      try await eventually { try await mailboxes(client).map(\.subscribers) == [0] }
    }
    try await withOrchestrator(configuration: configuration, clock: clock) { _, client in
      _ = try await send(client, "topic/alerts", "while away", ttl: .seconds(14 * 86_400))
      #expect(try await mailboxes(client).map(\.pending) == [1])
    }
    try await withOrchestrator(configuration: configuration, clock: clock) { _, client in
      let missed = try await receive(client, "topic/alerts", count: 1, consumer: "pager")
      #expect(payloads(missed) == ["while away"])
      _ = try await send(client, "topic/alerts", "later", ttl: .seconds(14 * 86_400))
      // Away longer than its retention (14 days): forgotten with what waited for it.
      clock.advance(by: .seconds(15 * 86_400))
      try await eventually { try await mailboxes(client).isEmpty }
      _ = try await send(client, "topic/alerts", "nobody")
      #expect(try await mailboxes(client).isEmpty)
    }
  }

  @Test("a queue's consumers take turns: two consumers get 5 of 10 messages each")
  func roundRobin() async throws {
    try await withOrchestrator { _, client in
      let subscribed = MutexBox(0)
      let received = MutexBox<[String: [String]]>([:])
      try await withThrowingTaskGroup(of: Void.self) { group in
        for name in ["a", "b"] {
          group.addTask {
            try await client.receive(
              from: "queue/turns",
              maxInFlight: 100,
              subscribed: { _ in subscribed.withLock { $0 += 1 } }
            ) { delivery in
              let payload = String(decoding: delivery.message.payload, as: UTF8.self)
              received.withLock { $0[name, default: []].append(payload) }
              return true
            }
          }
        }
        try await eventually { subscribed.withLock { $0 } == 2 }
        for index in 1...10 { _ = try await send(client, "queue/turns", "\(index)") }
        try await eventually { received.withLock { $0.values.map(\.count).reduce(0, +) } == 10 }
        group.cancelAll()
      }
      let counts = received.withLock { $0.values.map(\.count).sorted() }
      #expect(counts == [5, 5], "\(received.withLock { $0 })")
    }
  }

  @Test(
    "only the subscription a message was delivered to may acknowledge it; a waiting message cannot be acknowledged away"
  )
  func ackByHolderOnly() async throws {
    try await withOrchestrator { running, client in
      let other = try await client.tokens.createToken(.with { $0.kind = .admin }).token
      _ = try await send(client, "queue/held", "mine")
      let delivered = AsyncStream.makeStream(of: String.self)
      let release = AsyncStream.makeStream(of: Void.self)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await client.receive(from: "queue/held", acknowledge: false) { delivery in
            delivered.continuation.yield(delivery.deliveryID)
            for await _ in release.stream { break }
            return false
          }
        }
        var ids = delivered.stream.makeAsyncIterator()
        let id = try #require(await ids.next())
        try await running.withClient(token: other) { intruder in
          let unary = await expectRPCError(.permissionDenied) {
            try await intruder.router.ack(.with { $0.deliveryIds = [id] })
          }
          #expect(unary.contains("held by another subscription"), "\(unary)")
          // Over a subscription of its own, likewise.
          _ = await expectRPCError(.permissionDenied) {
            try await intruder.router.subscribe(
              requestProducer: { writer in
                try await writer.write(.with { $0.open.address = "queue/other" })
                try await writer.write(.with { $0.ack.deliveryIds = [id] })
              },
              onResponse: { response in for try await _ in response.messages {} }
            )
          }
        }
        #expect(try await mailboxes(client).first?.inFlight == 1)
        // The caller that opened the subscription may.
        #expect(try await client.router.ack(.with { $0.deliveryIds = [id] }).acknowledged == 1)
        release.continuation.finish()
        try await group.waitForAll()
      }
      // A message waiting for a subscriber is not outstanding: acknowledging it does nothing.
      let waiting = try await send(client, "queue/held", "waiting")
      #expect(try await client.router.ack(.with { $0.deliveryIds = [waiting] }).acknowledged == 0)
      #expect(try await mailboxes(client).first?.pending == 1)
    }
  }

  @Test(
    "every message counts a fixed overhead; beyond --max-mailboxes a send or subscription is refused with RESOURCE_EXHAUSTED naming the limit"
  )
  func mailboxLimits() async throws {
    var configuration = Orchestrator.Configuration.testing
    configuration.maxMailboxes = 3
    try await withOrchestrator(configuration: configuration) { _, client in
      for index in 1...3 { _ = try await send(client, "queue/q\(index)", "") }
      #expect(try await mailboxes(client).map(\.bytes) == [256, 256, 256])
      let refused = await expectRPCError(.resourceExhausted) {
        try await send(client, "queue/q4", "")
      }
      #expect(refused.contains("3 mailboxes (at most 3, --max-mailboxes)"), "\(refused)")
      await expectRPCError(.resourceExhausted) {
        try await client.receive(from: "queue/q5") { _ in false }
      }
      // Existing mailboxes still take messages; nothing was opened by the refusals.
      _ = try await send(client, "queue/q1", "more")
      #expect(try await mailboxes(client).map(\.address) == ["queue/q1", "queue/q2", "queue/q3"])
    }
  }

  @Test("bad messages and subscriptions are refused with INVALID_ARGUMENT and change nothing")
  func badInput() async throws {
    try await withOrchestrator { _, client in
      let badAddresses = ["nope", "task/xyz", "topic/", "queue/a b", "mailbox/x", "node/", ""]
      for address in badAddresses {
        await expectRPCError(.invalidArgument) { try await send(client, address, "x") }
      }
      await expectRPCError(.invalidArgument) {
        try await send(client, "queue/q", "x", ttl: .milliseconds(10))
      }
      await expectRPCError(.invalidArgument) {
        try await send(client, "queue/q", "x", ttl: .seconds(15 * 86_400))
      }
      await expectRPCError(.invalidArgument) {
        try await client.send(to: "queue/q", payload: Data(), headers: ["bad key": "v"])
      }
      await expectRPCError(.invalidArgument) {
        try await client.send(to: "queue/q", payload: Data(count: (1 << 20) + 1))
      }
      await expectRPCError(.invalidArgument) {
        try await client.receive(from: "queue/q", maxInFlight: 20_000) { _ in false }
      }
      await expectRPCError(.invalidArgument) {
        try await client.receive(from: "queue/q", ackTimeout: .milliseconds(1)) { _ in false }
      }
      await expectRPCError(.invalidArgument) {
        try await client.receive(from: "topic/t", consumer: "~sneaky") { _ in false }
      }
      await expectRPCError(.invalidArgument) {
        try await client.router.subscribe(
          requestProducer: { writer in
            try await writer.write(.with { $0.ack = .with { $0.deliveryIds = ["m1"] } })
          },
          onResponse: { response in for try await _ in response.messages {} }
        )
      }
      await expectRPCError(.invalidArgument) {
        try await client.router.ack(.with { $0.deliveryIds = [""] })
      }
      let unknown = try await client.router.ack(.with { $0.deliveryIds = ["m-unknown"] })
      #expect(unknown.acknowledged == 0)
      let left = try await mailboxes(client)
      #expect(left.isEmpty)
    }
  }

  @Test("a full mailbox refuses with RESOURCE_EXHAUSTED and takes messages again once read")
  func backPressure() async throws {
    var configuration = Orchestrator.Configuration.testing
    configuration.maxMessagesPerMailbox = 5
    try await withOrchestrator(configuration: configuration) { _, client in
      for index in 1...5 { _ = try await send(client, "queue/small", "\(index)") }
      let message = await expectRPCError(.resourceExhausted) {
        try await send(client, "queue/small", "6")
      }
      #expect(message.contains("queue/small is full"))
      // Other mailboxes are unaffected.
      _ = try await send(client, "queue/other", "fine")
      #expect(payloads(try await receive(client, "queue/small", count: 2)) == ["1", "2"])
      _ = try await send(client, "queue/small", "6")
      let rest = try await receive(client, "queue/small", count: 4)
      #expect(payloads(rest) == ["3", "4", "5", "6"])
    }
  }

  @Test("messages acknowledged by Send survive a restart; acknowledged ones do not come back")
  func durable() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-router-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = Orchestrator.Configuration.testing
    configuration.store = .sqlite(path: directory + "/orchion.db")
    configuration.secretsKey = Array(repeating: 7, count: 32)
    let ids = try await withOrchestrator(configuration: configuration) { _, client in
      var ids: [String] = []
      for index in 1...10 { ids.append(try await send(client, "queue/kept", "\(index)")) }
      _ = try await receive(client, "queue/kept", count: 4)
      return ids
    }
    try await withOrchestrator(configuration: configuration) { _, client in
      let deliveries = try await receive(client, "queue/kept", count: 6)
      #expect(payloads(deliveries) == (5...10).map { "\($0)" })
      #expect(deliveries.map(\.message.id) == Array(ids[4...]))
      // New messages go after the restored ones.
      _ = try await send(client, "queue/kept", "11")
      let latest = try await receive(client, "queue/kept", count: 1)
      #expect(payloads(latest) == ["11"])
    }
  }
}
