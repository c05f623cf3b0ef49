import GRPCCore
import OrchionAPI
import OrchionCore
import SwiftProtobuf

extension TaskServiceHandler {
  /// An agent task's events: the chunks of its log that carry them, decoded and stamped with
  /// where they are (task, attempt, sequence from 1), from the resume point on.
  func streamAgentEvents(
    request: Orchion_V1_StreamAgentEventsRequest,
    response: RPCWriter<Orchion_V1_AgentEvent>,
    context: ServerContext
  ) async throws {
    let id = try TaskID(validating: request.taskID)
    guard request.afterAttempt >= 0, request.afterSeq >= 0 else {
      throw OrchionError.invalidArgument(
        field: "after_seq",
        "after_attempt and after_seq: must not be negative"
      )
    }
    let after = (request.afterAttempt, request.afterSeq)
    try await follow(id, follow: request.follow) { read in
      for chunk in read.chunks where chunk.stream == .agentEvent {
        let sequence = chunk.sequence &+ 1
        guard (chunk.attempt, sequence) > after,
          var event = try? Orchion_V1_AgentEvent(serializedBytes: chunk.data)
        else { continue }
        event.taskID = id.rawValue
        event.attempt = chunk.attempt
        event.sequence = sequence
        try await response.write(event)
      }
    } final: { task in
      try await response.write(.with { $0.finalTask = task })
    }
  }
}
