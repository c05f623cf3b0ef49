import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import SwiftProtobuf

/// Copies a task's output to this process's standard output and error as it arrives.
enum LogPrinter {
  /// Streams `task`'s output until it is terminal (or, without `follow`, until what exists).
  static func follow(_ task: String, client: OrchionClient, follow: Bool = true) async throws {
    try await client.tasks.streamTaskLogs(
      .with {
        $0.taskID = task
        $0.follow = follow
      }
    ) { response in
      for try await chunk in response.messages {
        switch chunk.stream {
        case .stdout: FileHandle.standardOutput.write(chunk.data)
        default: FileHandle.standardError.write(chunk.data)
        }
      }
    }
  }
}
