import GRPCCore
import OrchionAPI
import OrchionClient
import SwiftProtobuf

/// Helpers the client-side benches share: bounded concurrency and waiting for tasks to end.
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
  static func waitForAll(_ ids: Set<String>, client: OrchionNetworkClient) async throws -> Int {
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
  static func waitForEnd(_ id: String, client: OrchionNetworkClient) async throws -> Orchion_V1_TaskState {
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
