import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion-bench submit`: durable SubmitTask throughput — every answer means the task is in the
/// store — from 1 or many concurrent clients.
struct SubmitBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "submit",
    abstract: "Submit N tasks from C concurrent clients; report submits/s and latency.",
    discussion: """
      Each SubmitTask returns once the task is durable in the orchestrator's store, so this \
      measures the store (SQLite fsync or PostgreSQL commit) as much as the API. Run it \
      against an orchestrator with no agents (the tasks stay PENDING), e.g. \
      `orchion server --data-dir /tmp/bench` or `--store postgres://…`.
      """
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Tasks to submit.")
  var count = 5000

  @Option(help: "Concurrent clients, each on its own connection, each one request at a time.")
  var clients = 1

  func validate() throws {
    guard count > 0, clients > 0 else { throw ValidationError("--count and --clients must be > 0") }
  }

  func run() async throws {
    let clock = ContinuousClock()
    let address = try client.address()
    let token = client.resolvedToken()
    let share = (count + clients - 1) / clients
    let start = clock.now
    let perClient = try await BenchWork.concurrently(clients, width: clients) { index in
      try await withOrchionClient(server: address, token: token) { client in
        var samples: [Duration] = []
        let mine = min(share, count - index * share)
        for _ in 0..<max(0, mine) {
          let sent = clock.now
          _ = try await client.tasks.submitTask(
            .with {
              $0.spec.command = ["/bin/true"]
              $0.spec.name = "bench-submit"
            }
          )
          samples.append(sent.duration(to: clock.now))
        }
        return samples
      }
    }
    let elapsed = start.duration(to: clock.now)
    let samples = perClient.flatMap { $0 }.sorted()
    func percentile(_ p: Double) -> String {
      guard !samples.isEmpty else { return "-" }
      let index = min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)
      return String(format: "%.2f ms", samples[max(0, index)].seconds * 1000)
    }
    Console.line(
      "submit: \(samples.count) durable submits from \(clients) client(s) in \(String(format: "%.3f", elapsed.seconds)) s = \(String(format: "%.0f", Double(samples.count) / elapsed.seconds)) submits/s, latency p50 \(percentile(0.5)), p99 \(percentile(0.99))"
    )
  }
}
