import GRPCCore
import Logging

/// Logs every RPC at debug level, and refused ones with their status, so an operator can see
/// who called what. Messages are never logged: they may carry secrets.
struct AccessLogInterceptor: ServerInterceptor {
  let logger: Logger

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var metadata: Logger.Metadata = [
      LoggingKeys.rpcMethod: "\(context.descriptor.fullyQualifiedMethod)",
      LoggingKeys.rpcPeer: "\(context.remotePeer)",
    ]
    do {
      let response = try await next(request, context)
      if case .failure(let error) = response.accepted {
        metadata[LoggingKeys.rpcStatus] = "\(error.code)"
        metadata[LoggingKeys.error] = "\(error.message)"
        logger.debug("rpc refused", metadata: metadata)
      } else {
        logger.trace("rpc accepted", metadata: metadata)
      }
      return response
    } catch {
      metadata[LoggingKeys.error] = "\(error)"
      logger.debug("rpc failed", metadata: metadata)
      throw error
    }
  }
}
