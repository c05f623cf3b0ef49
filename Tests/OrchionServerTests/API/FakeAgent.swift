import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport

/// One hand-driven `AgentService.Connect` stream, as a hostile node would open it: the test
/// writes whatever messages it likes and reads what the orchestrator answers.
/// Used by one test task (not `Sendable`).
final class FakeAgentStream {
  private let outgoing: AsyncStream<Orchion_V1_AgentMessage>.Continuation
  private var incoming: AsyncThrowingStream<Orchion_V1_ServerMessage, any Error>.Iterator
  private let ended: Task<RPCError?, Never>

  /// Opens a stream with the node's credential; nothing is sent yet.
  init(client: InProcessClient, credential: String) {
    let (requests, outgoing) = AsyncStream.makeStream(of: Orchion_V1_AgentMessage.self)
    let (responses, sink) = AsyncThrowingStream.makeStream(of: Orchion_V1_ServerMessage.self)
    self.outgoing = outgoing
    incoming = responses.makeAsyncIterator()
    let agent = Orchion_V1_AgentService.Client(wrapping: client.grpc)
    ended = Task {
      do {
        try await agent.connect(
          metadata: [NodeCredential.metadataKey: "\(credential)"]
        ) { writer in
          for await message in requests { try await writer.write(message) }
        } onResponse: { response in
          // The server ending the stream ends the writer too.
          defer { outgoing.finish() }
          for try await message in response.messages { sink.yield(message) }
        }
        sink.finish()
        return nil
      } catch let error as RPCError {
        sink.finish(throwing: error)
        return error
      } catch {
        sink.finish(throwing: error)
        return RPCError(code: .unknown, message: "\(error)")
      }
    }
  }

  func send(_ message: Orchion_V1_AgentMessage) {
    outgoing.yield(message)
  }

  /// The next message from the orchestrator; `nil` once the stream ended.
  func next() async throws -> Orchion_V1_ServerMessage? {
    try await incoming.next()
  }

  /// Waits for the next message of a kind, skipping others.
  func next(
    where matches: (Orchion_V1_ServerMessage) -> Bool
  ) async throws -> Orchion_V1_ServerMessage? {
    while let message = try await next() {
      if matches(message) { return message }
    }
    return nil
  }

  /// Closes the test's side and waits for the stream to end: the error it ended with, if any.
  func close() async -> RPCError? {
    outgoing.finish()
    return await ended.value
  }

  /// Waits for the stream to end (the server ends it): the error it ended with, if any.
  func end() async -> RPCError? {
    await ended.value
  }
}
