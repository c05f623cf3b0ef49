public import GRPCCore

/// Adds `authorization: Bearer <token>` to every RPC, the auth metadata Orchion's API defines.
public struct BearerTokenInterceptor: ClientInterceptor {
  private let token: String

  /// Creates the interceptor.
  /// - Parameter token: The token to present.
  public init(token: String) {
    self.token = token
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<
      Output
    >
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString("Bearer \(token)", forKey: "authorization")
    return try await next(request, context)
  }
}
