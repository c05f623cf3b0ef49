import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("End to end: messages between tasks", .serialized, .timeLimit(.minutes(5)))
struct RouterEndToEndTests {
  /// One line of `orchion msg recv -o json`.
  struct Received: Decodable {
    var id: String
    var from: String
    var payload: String
    var delivery_count: Int
  }

  func readReceived(_ path: String) throws -> [Received] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try text.split(separator: "\n").map {
      try JSONDecoder().decode(Received.self, from: Data($0.utf8))
    }
  }

  /// Starts `orchion msg send ADDRESS --lines` reading `lines` from a file. (A file, not a
  /// pipe from this process: Foundation's handling of a child's standard input pipe is
  /// suspected of closing a descriptor twice, which stalled whole test runs.)
  func sendLines(_ lines: String, to address: String, cluster: Cluster, quiet: Bool = false)
    throws -> ChildProcess
  {
    let file = cluster.directory + "/lines-\(UUID().uuidString)"
    try lines.write(toFile: file, atomically: true, encoding: .utf8)
    return try ChildProcess(
      "/bin/sh",
      [
        "-c",
        "exec \"$0\" msg send \(address) --lines\(quiet ? " -q" : "") --server \(cluster.address) < \(file)",
        BuiltProducts.orchion,
      ]
    )
  }

  func mailboxes(_ client: OrchionNetworkClient) async throws -> [Orchion_V1_MailboxInfo] {
    try await client.router.listMailboxes(.init()).mailboxes
  }

  @Test(
    "two tasks on different agents exchange 10,000 messages each way: none lost, in order, from the right sender"
  )
  func exchange() async throws {
    try await withQuietPeriod { try await exchangeMessages() }
  }

  private func exchangeMessages() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("left", labels: ["side": "left"])
      try cluster.startAgent("right", labels: ["side": "right"])
      try await cluster.waitForActiveNodes(["left", "right"])
      let orchion = BuiltProducts.orchion
      let out = cluster.directory
      // Each learns its peer from its first message, then sends and receives at once; no
      // flags: the agent gave the task ORCHION_SERVER and its own ORCHION_TOKEN.
      let script = """
        set -e
        peer=$(\(orchion) msg recv)
        \(orchion) tasks > \(out)/denied-$ORCHION_TASK_ID 2>&1 || true
        seq 1 10000 | \(orchion) msg send task/$peer --lines -q &
        \(orchion) msg recv --count 10000 -o json > \(out)/recv-$ORCHION_TASK_ID.jsonl
        wait $!
        """
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let left = try await client.submit(["sh", "-c", script], selector: ["side": "left"])
        let right = try await client.submit(["sh", "-c", script], selector: ["side": "right"])
        _ = try await client.send(to: "task/\(left.id)", payload: Data(right.id.utf8))
        _ = try await client.send(to: "task/\(right.id)", payload: Data(left.id.utf8))
        for task in [left, right] {
          let finished = try await client.waitFor(task.id, timeout: .seconds(240))
          let output = try await client.output(task.id)
          #expect(finished.state == .succeeded, "\(finished) \(output)")
        }
        #expect(try await client.task(left.id).nodeID == "left")
        #expect(try await client.task(right.id).nodeID == "right")
        for (task, peer) in [(left, right), (right, left)] {
          let received = try readReceived("\(out)/recv-\(task.id).jsonl")
          #expect(received.count == 10_000)
          #expect(received.allSatisfy { $0.from == "task/\(peer.id)" })
          // In order per sender; a duplicate would need a reconnect and carry the same ID.
          #expect(received.map(\.payload) == (1...10_000).map { "\($0)" })
          #expect(Set(received.map(\.id)).count == 10_000)
          let denied = try String(contentsOfFile: "\(out)/denied-\(task.id)", encoding: .utf8)
          #expect(denied.contains("permissionDenied"), "\(denied)")
        }
        // Both mailboxes went with their tasks.
        try await eventually { try await mailboxes(client).isEmpty }
      }
    }
  }

  @Test(
    "a topic with 3 subscribers delivers every message to each; a queue with 3 consumers splits them"
  )
  func topicAndQueue() async throws {
    try await Cluster.with { cluster in
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let server = "\(cluster.address)"
        let readers = try (1...3).map { _ in
          try ChildProcess(
            BuiltProducts.orchion,
            ["msg", "recv", "topic/news", "--count", "500", "--server", server]
          )
        }
        try await eventually {
          try await mailboxes(client).filter { $0.subscribers == 1 }.count == 3
        }
        let lines = (1...500).map { "headline \($0)" }.joined(separator: "\n") + "\n"
        let sender = try sendLines(lines, to: "topic/news", cluster: cluster, quiet: true)
        #expect(try await sender.waitForExit() == 0, "\(sender.standardError)")
        for reader in readers {
          #expect(try await reader.waitForExit() == 0, "\(reader.standardError)")
          #expect(reader.standardOutput == lines)
        }

        let consumers = try (1...3).map { _ in
          try ChildProcess(
            BuiltProducts.orchion,
            ["msg", "recv", "queue/work", "--follow", "-o", "json", "--server", server]
          )
        }
        try await eventually { try await mailboxes(client).first?.subscribers == 3 }
        let jobs = try sendLines(
          (1...600).map { "job \($0)" }.joined(separator: "\n") + "\n",
          to: "queue/work",
          cluster: cluster
        )
        #expect(try await jobs.waitForExit() == 0, "\(jobs.standardError)")
        let sentIDs = jobs.standardOutput.split(separator: "\n").map(String.init)
        #expect(sentIDs.count == 600)
        try await eventually {
          guard let queue = try await mailboxes(client).first else { return false }
          return queue.acknowledged == 600 && queue.pending == 0 && queue.inFlight == 0
        }
        var seen: [String] = []
        for consumer in consumers {
          consumer.signal(SIGTERM)
          _ = try await consumer.waitForExit()
          let ids = try consumer.standardOutput.split(separator: "\n").map {
            try JSONDecoder().decode(Received.self, from: Data($0.utf8)).id
          }
          // Work is shared: every consumer got some.
          #expect(!ids.isEmpty)
          seen += ids
        }
        // Each message went to exactly one consumer, once.
        #expect(seen.count == 600)
        #expect(Set(seen) == Set(sentIDs))
      }
    }
  }

  @Test(
    "the receiving agent killed mid-stream: unacknowledged messages go to the task's next attempt, messages sent meanwhile are held"
  )
  func agentKilled() async throws {
    try await Cluster.with(serverArguments: ["--heartbeat-timeout", "1s", "--lost-after", "1s"]) {
      cluster in
      let first = try cluster.startAgent("first")
      try await cluster.waitForActiveNodes(["first"])
      let orchion = BuiltProducts.orchion
      let out = cluster.directory
      // The first attempt prints what it gets without acknowledging (as if it crashed before
      // finishing each); the next one acknowledges.
      let script = """
        if [ "$ORCHION_ATTEMPT" = 1 ]; then
          exec \(orchion) msg recv --follow --no-ack --ack-timeout 1h -o json > \(out)/attempt-1.jsonl
        fi
        exec \(orchion) msg recv --count 100 -o json > \(out)/attempt-2.jsonl
        """
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sh", "-c", script])
        try await client.waitFor(task.id, state: .running)
        for index in 1...50 {
          _ = try await client.send(to: "task/\(task.id)", payload: Data("\(index)".utf8))
        }
        try await eventually {
          ((try? readReceived("\(out)/attempt-1.jsonl"))?.count ?? 0) == 50
        }
        let firstAttempt = try readReceived("\(out)/attempt-1.jsonl")

        try cluster.startAgent("second")
        try await cluster.waitForActiveNodes(["second"])
        first.signal(SIGKILL)
        _ = try await first.waitForExit()
        for index in 51...100 {
          _ = try await client.send(to: "task/\(task.id)", payload: Data("\(index)".utf8))
        }
        let finished = try await client.waitFor(task.id, timeout: .seconds(60))
        #expect(finished.state == .succeeded, "\(finished)")
        #expect(finished.nodeID == "second")
        let secondAttempt = try readReceived("\(out)/attempt-2.jsonl")
        #expect(secondAttempt.map(\.payload) == (1...100).map { "\($0)" })
        // The same messages (same IDs), marked as delivered before.
        #expect(Array(secondAttempt.prefix(50).map(\.id)) == firstAttempt.map(\.id))
        #expect(secondAttempt.prefix(50).allSatisfy { $0.delivery_count >= 2 })
        #expect(secondAttempt.suffix(50).allSatisfy { $0.delivery_count == 1 })
      }
    }
  }

  @Test("the orchestrator killed with SIGKILL: every message Send acknowledged is still delivered")
  func orchestratorKilled() async throws {
    try await Cluster.with { cluster in
      let lines = (1...1_000).map { "m\($0)" }.joined(separator: "\n") + "\n"
      let sender = try sendLines(lines, to: "queue/durable", cluster: cluster)
      #expect(try await sender.waitForExit() == 0, "\(sender.standardError)")
      let ids = sender.standardOutput.split(separator: "\n").map(String.init)
      #expect(ids.count == 1_000)

      try await cluster.restartServer()
      let receiver = try await cluster.orchion([
        "msg", "recv", "queue/durable", "--count", "1000", "-o", "json",
      ])
      #expect(receiver.status == 0, "\(receiver.stderr)")
      let received = try receiver.stdout.split(separator: "\n").map {
        try JSONDecoder().decode(Received.self, from: Data($0.utf8))
      }
      #expect(received.map(\.payload) == (1...1_000).map { "m\($0)" })
      #expect(received.map(\.id) == ids)
    }
  }
}
