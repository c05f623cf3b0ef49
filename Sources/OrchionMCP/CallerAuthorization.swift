public import GRPCCore

/// The bearer credential the MCP caller presented, for the API calls its tools make: the HTTP
/// endpoint serves many callers over one in-process client, so each call carries its caller's
/// own token and the API checks it exactly as it checks a gRPC client's.
public enum CallerAuthorization {
  /// `Bearer <token>`; `nil` adds nothing (stdio: the client has its own token).
  @TaskLocal public static var current: String?
}

/// Adds ``CallerAuthorization/current`` as `authorization` metadata.
public struct CallerAuthorizationInterceptor: ClientInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<
      Output
    >
  ) async throws -> StreamingClientResponse<Output> {
    guard let authorization = CallerAuthorization.current else { return try await next(request, context) }
    var request = request
    request.metadata.replaceOrAddString(authorization, forKey: "authorization")
    return try await next(request, context)
  }
}
