import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion-bench messages`: task-to-task messaging across two agents.
struct MessagesBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "messages",
    abstract:
      "Send N messages from a task on one agent to a task on another; report msgs/s and latency.",
    discussion: """
      Starts its own orchestrator (SQLite state in a scratch directory, on loopback) and two \
      agents from the `orchion` beside this executable. A task on one agent runs `orchion msg recv --count N -o \
      json`; a task on the other pipes N lines into `orchion msg send task/<receiver> --lines`. \
      Throughput is N over the time from the first message's acceptance to the last one \
      printed by the receiver; latency is per message, from its acceptance by the \
      orchestrator (durable) to the receiver printing it — under that flood it is mostly \
      queueing. Then --paced messages go one `orchion msg send` at a time (each a new \
      process, so they are spread out): the latency of a message on an idle path.
      """
  )

  @Option(help: "Messages to send pipelined.")
  var count = 10_000

  @Option(help: "Messages then sent one at a time (0: none).")
  var paced = 200

  func validate() throws {
    guard count > 0 else { throw ValidationError("--count must be positive") }
    guard paced >= 0 else { throw ValidationError("--paced must not be negative") }
  }

  private struct Received: Decodable {
    var sent_at: Int64
    var received_at: Int64
  }

  func run() async throws {
    let cluster = try BenchCluster("messages")
    defer { cluster.stop() }
    let directory = cluster.directory
    for side in ["a", "b"] {
      try cluster.startAgent("bench-\(side)", arguments: ["--label", "side=\(side)"])
    }
    try await withOrchionClient(server: cluster.address, token: cluster.token) { client in
      try await FailoverBench.waitForActive(["bench-a", "bench-b"], client: client)
      let flood = try await phase(
        client,
        count: count,
        directory: directory,
        send: { receiver in "seq 1 \(count) | \"$0\" msg send task/\(receiver) --lines -q" }
      )
      Console.line(
        "messages: \(count) pipelined task→task across two agents: \(flood.rate) msgs/s; accepted → printed \(flood.latency)"
      )
      if paced > 0 {
        let spread = try await phase(
          client,
          count: paced,
          directory: directory,
          send: { receiver in
            "for i in $(seq 1 \(paced)); do \"$0\" msg send task/\(receiver) --data $i -q || exit 1; done"
          }
        )
        Console.line(
          "messages: \(paced) sent one at a time task→task: accepted → printed \(spread.latency)"
        )
      }
    }
  }

  /// Runs a receiver task on agent b and a sender task (`send(receiverID)`, a shell command
  /// where `$0` is that `orchion`) on agent a; measures from the receiver's output.
  private func phase(
    _ client: OrchionNetworkClient,
    count: Int,
    directory: String,
    send: (String) -> String
  ) async throws -> (rate: Int, latency: String) {
    let orchion = BenchProcess.orchion
    let output = directory + "/received-\(UUID().uuidString).jsonl"
    let receiver = try await client.tasks.submitTask(
      .with {
        $0.spec.command = [
          "sh", "-c", "exec \"$0\" msg recv --count \(count) -o json > \(output)", orchion,
        ]
        $0.spec.nodeSelector = ["side": "b"]
      }
    ).task
    _ = try await FailoverBench.poll(client, receiver.id) { $0.state == .running }
    let sender = try await client.tasks.submitTask(
      .with {
        $0.spec.command = ["sh", "-c", send(receiver.id), orchion]
        $0.spec.nodeSelector = ["side": "a"]
      }
    ).task
    for task in [sender, receiver] {
      let done = try await FailoverBench.poll(client, task.id) {
        [.succeeded, .failed, .cancelled].contains($0.state)
      }
      guard done.state == .succeeded else {
        throw OrchionError(code: .internalError, message: "bench task failed: \(done)")
      }
    }
    let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
    let received = try lines.map { try JSONDecoder().decode(Received.self, from: Data($0.utf8)) }
    guard let firstSent = received.map(\.sent_at).min(),
      let lastReceived = received.map(\.received_at).max()
    else { throw OrchionError(code: .internalError, message: "nothing was received") }
    let latencies = received.map { Double($0.received_at - $0.sent_at) / 1e6 }.sorted()
    func percentile(_ p: Double) -> String {
      String(
        format: "%.2f ms",
        latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
      )
    }
    let seconds = Double(lastReceived - firstSent) / 1e9
    return (
      Int(Double(received.count) / seconds),
      "p50 \(percentile(0.5)), p90 \(percentile(0.9)), p99 \(percentile(0.99)), max \(percentile(1))"
    )
  }
}
