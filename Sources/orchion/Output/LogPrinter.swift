import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import SwiftProtobuf

/// Copies a task's output to this process's standard output and error as it arrives.
enum LogPrinter {
  /// Streams `task`'s output until it is terminal (or, without `follow`, until what exists).
  /// - Returns: The task as it ended, when the stream ended because it is terminal.
  @discardableResult
  static func follow(_ task: String, client: OrchionNetworkClient, follow: Bool = true) async throws
    -> Orchion_V1_Task?
  {
    try await client.tasks.streamTaskLogs(
      .with {
        $0.taskID = task
        $0.follow = follow
      }
    ) { response in
      var final: Orchion_V1_Task?
      for try await chunk in response.messages {
        if chunk.hasFinalTask {
          final = chunk.finalTask
          continue
        }
        switch chunk.stream {
        case .stdout: FileHandle.standardOutput.write(chunk.data)
        default: FileHandle.standardError.write(chunk.data)
        }
      }
      return final
    }
  }
}
