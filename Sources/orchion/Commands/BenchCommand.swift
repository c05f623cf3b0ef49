import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import SwiftProtobuf

/// `orchion bench`: measure a running cluster from the outside, as a client would.
struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract:
      "Measure a running cluster (dispatch, latency, submit, nodes), the scheduler alone, or clusters of its own (failover, footprint, messages, chatty).",
    subcommands: [
      DispatchBench.self, LatencyBench.self, SchedulerBench.self, NodesBench.self, SubmitBench.self,
      FailoverBench.self, FootprintBench.self, MessagesBench.self, ChattyBench.self,
    ]
  )
}

/// Submits N tasks at once and times first submit to last SUCCEEDED.
struct DispatchBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dispatch",
    abstract: "Submit N tasks at once; report tasks/s to the last SUCCEEDED."
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Tasks to run.")
  var count = 1000

  @Option(help: "Concurrent submitters and watchers.")
  var concurrency = 32

  @Argument(parsing: .postTerminator, help: "The command each task runs (default /bin/true).")
  var command: [String] = []

  func run() async throws {
    let argv = command.isEmpty ? ["/bin/true"] : command
    let clock = ContinuousClock()
    let (elapsed, failures) = try await client.connect { client in
      let start = clock.now
      let ids = try await BenchWork.concurrently(count, width: concurrency) { _ in
        try await client.tasks.submitTask(.with { $0.spec.command = argv }).task.id
      }
      // Tasks start in submission order: follow the last one, then make sure of the rest.
      if let last = ids.last { _ = try await BenchWork.waitForEnd(last, client: client) }
      let failures = try await BenchWork.waitForAll(Set(ids), client: client)
      return (start.duration(to: clock.now), failures)
    }
    Console.line(
      "dispatch: \(count) tasks in \(String(format: "%.3f", elapsed.seconds)) s = \(String(format: "%.0f", Double(count) / elapsed.seconds)) tasks/s, \(failures) not succeeded"
    )
  }
}

/// Runs N tasks one after another and reports submit-to-finish percentiles.
struct LatencyBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "latency",
    abstract: "Run N tasks one by one; report p50/p90/p99 submit-to-SUCCEEDED."
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Tasks to run.")
  var count = 1000

  func run() async throws {
    let clock = ContinuousClock()
    let (samples, submits, failures) = try await client.connect { client in
      var samples: [Duration] = []
      var submits: [Duration] = []
      var failures = 0
      for _ in 0..<count {
        let start = clock.now
        let id = try await client.tasks.submitTask(.with { $0.spec.command = ["/bin/true"] }).task
          .id
        let submitted = clock.now
        let state = try await BenchWork.waitForEnd(id, client: client)
        samples.append(start.duration(to: clock.now))
        submits.append(start.duration(to: submitted))
        if state != .succeeded { failures += 1 }
      }
      return (samples.sorted(), submits.sorted(), failures)
    }
    func percentile(_ p: Double, of samples: [Duration]) -> String {
      let index = min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)
      return String(format: "%.2f ms", samples[max(0, index)].seconds * 1000)
    }
    Console.line(
      "latency: \(count) sequential tasks, p50 \(percentile(0.5, of: samples)), p90 \(percentile(0.9, of: samples)), p99 \(percentile(0.99, of: samples)), max \(percentile(1, of: samples))"
    )
    // Where the time goes: the durable submit, then the run until the task's output stream
    // ends with its final state.
    Console.line(
      "  of which: submit p50 \(percentile(0.5, of: submits)); \(failures) not succeeded"
    )
  }
}

enum BenchWork {
  /// Runs `work(0..<count)` with at most `width` at a time; results in index order.
  static func concurrently<T: Sendable>(
    _ count: Int,
    width: Int,
    _ work: @escaping @Sendable (Int) async throws -> T
  ) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
      var results = [T?](repeating: nil, count: count)
      var next = 0
      while next < min(width, count) {
        let index = next
        group.addTask { (index, try await work(index)) }
        next += 1
      }
      while let (index, value) = try await group.next() {
        results[index] = value
        if next < count {
          let index = next
          group.addTask { (index, try await work(index)) }
          next += 1
        }
      }
      return results.compactMap { $0 }
    }
  }

  /// Waits until every task in `ids` has ended, by listing the unfinished tasks every 20 ms
  /// (a few RPCs per poll, shrinking as tasks finish — not one per task: the client must not be
  /// what is measured), then counts those that failed or were cancelled.
  /// - Returns: How many did not succeed.
  static func waitForAll(_ ids: Set<String>, client: OrchionClient) async throws -> Int {
    func listed(_ states: [Orchion_V1_TaskState]) async throws -> Set<String> {
      var found = Set<String>()
      for state in states {
        var token = ""
        repeat {
          let page = try await client.tasks.listTasks(
            .with {
              $0.state = state
              $0.pageSize = 1000
              $0.pageToken = token
            }
          )
          found.formUnion(page.tasks.map(\.id).filter(ids.contains))
          token = page.nextPageToken
        } while !token.isEmpty
      }
      return found
    }
    while try await !listed([.pending, .assigned, .running]).isEmpty {
      try await Task.sleep(for: .milliseconds(20))
    }
    return try await listed([.failed, .cancelled]).count
  }

  /// Follows the task's output stream, which ends when the task is terminal with the task as it
  /// ended.
  static func waitForEnd(_ id: String, client: OrchionClient) async throws -> Orchion_V1_TaskState {
    let final = try await client.tasks.streamTaskLogs(
      .with {
        $0.taskID = id
        $0.follow = true
      }
    ) { response in
      var final: Orchion_V1_Task?
      for try await chunk in response.messages where chunk.hasFinalTask { final = chunk.finalTask }
      return final
    }
    if let final { return final.state }
    // An orchestrator from before the stream carried the final task.
    return try await client.tasks.getTask(.with { $0.taskID = id }).task.state
  }
}
