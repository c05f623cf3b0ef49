import ArgumentParser
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import SwiftProtobuf
import UnixSignals

/// Ctrl-C on an attached `orchion run` stops the task, as `docker run` passes the signal on to
/// its container: the first SIGINT or SIGTERM cancels the task, and the output keeps streaming
/// until the task has ended, so the command still exits with the task's outcome (130).
enum SignalForwarding {
  /// Traps SIGINT and SIGTERM from now on. Created before the task is submitted, so a Ctrl-C at
  /// any moment after submission is seen (a signal in between is kept until it is read).
  static func trap() async -> UnixSignalsSequence {
    await UnixSignalsSequence(trapping: .sigint, .sigterm)
  }

  /// Runs `body`; the first trapped signal meanwhile cancels `task` (and `body` goes on until the
  /// task has ended); a second one gives up waiting and exits 130 at once.
  static func cancelOnInterrupt<Result: Sendable>(
    _ task: String,
    client: OrchionNetworkClient,
    signals: UnixSignalsSequence,
    while body: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        var cancelled = false
        for await _ in signals {
          if cancelled { throw ExitCode(130) }
          cancelled = true
          Console.error("orchion: cancelling task \(task) (Ctrl-C again to stop waiting)")
          _ = try? await client.tasks.cancelTask(.with { $0.taskID = task })
        }
        return nil
      }
      // Only `body` ends with a result (when the task has ended): then stop listening.
      while let next = try await group.next() {
        if let result = next {
          group.cancelAll()
          return result
        }
      }
      throw CancellationError()  // not reached: `body` returns or throws
    }
  }
}
