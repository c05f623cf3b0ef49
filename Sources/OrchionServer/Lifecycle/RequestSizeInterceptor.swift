import GRPCCore
import SwiftProtobuf

/// Answers a request over the size limit with RESOURCE_EXHAUSTED naming the limit, as grpcio
/// and grpc-go do. grpc-swift-nio-transport instead resets the stream of a message over its
/// own limit (the client sees `CANCELLED: Stream removed`), so the orchestrator sets the
/// transport's limit higher (``transportLimit(for:)``) and enforces the real one here, on the
/// decoded request of each unary and server-streaming call.
///
/// Messages of client-streaming calls (the agent stream, `SendStream`) are not measured here —
/// re-encoding every one would double the hot path's cost — but every field they carry is
/// bounded where it is validated, and the transport's limit still holds for them.
struct RequestSizeInterceptor: ServerInterceptor {
  /// Largest request accepted, in bytes.
  let limit: Int

  /// Calls whose request is a stream of messages.
  static let clientStreamingMethods: Set<String> = [
    "orchion.v1.AgentService/Connect", "orchion.v1.RouterService/SendStream",
    "orchion.v1.RouterService/Subscribe",
  ]

  /// What the transport is configured to accept: twice the limit (at least 1 MiB more), so a
  /// request up to that gets a real answer; beyond it the transport resets the stream.
  static func transportLimit(for limit: Int) -> Int {
    let (doubled, overflow) = limit.multipliedReportingOverflow(by: 2)
    return overflow ? Int.max : max(doubled, limit &+ (1 << 20))
  }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    guard !Self.clientStreamingMethods.contains(context.descriptor.fullyQualifiedMethod) else {
      return try await next(request, context)
    }
    // One message: read it, measure it, and hand it on.
    var messages: [Input] = []
    for try await message in request.messages {
      if let size = Self.encodedSize(of: message), size > limit {
        return StreamingServerResponse(
          error: RPCError(
            code: .resourceExhausted,
            message:
              "request of \(size) bytes is over the orchestrator's limit of \(limit) bytes for one message"
          )
        )
      }
      messages.append(message)
    }
    let replay = AsyncThrowingStream<Input, any Error> { continuation in
      for message in messages { continuation.yield(message) }
      continuation.finish()
    }
    var checked = request
    checked.messages = RPCAsyncSequence(wrapping: replay)
    return try await next(checked, context)
  }

  /// The message's size on the wire; `nil` for a type that is not a protobuf message.
  private static func encodedSize(of message: some Sendable) -> Int? {
    guard let message = message as? any SwiftProtobuf.Message else { return nil }
    return (try? message.serializedBytes() as [UInt8])?.count
  }
}
