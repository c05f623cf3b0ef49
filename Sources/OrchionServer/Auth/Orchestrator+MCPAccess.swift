import OrchionCore

extension Orchestrator {
  /// What a caller of `/mcp` presenting `authorization` gets, checked before a session starts
  /// and on every request after. Any token that authenticates passes but a join token; each
  /// tool call then goes through the API with that same token, so an agent, a read or a
  /// task's token may do over MCP exactly what it may do over gRPC, refused in the same words.
  /// Failures count against `address` as on the gRPC port.
  public func mcpAccess(authorization: String?, from address: String) async -> MCPAccess {
    if let presented = authorization.flatMap(TokenRegistry.bearerToken),
      let (task, attempt) = taskTokens.verify(presented)
    {
      guard cluster.currentNode(of: task, attempt: attempt) != nil else {
        return .refused(
          "this task token belongs to attempt \(attempt) of task \(task), which has ended"
        )
      }
      return .granted
    }
    guard let tokens else { return .granted }
    guard !failedAuthentications.isExhausted(address) else {
      return .limited(
        "too many failed authentications from \(address) (\(failedAuthentications.description)); retry later with a valid token"
      )
    }
    do {
      switch try await tokens.authenticate(authorization) {
      case .join:
        return .forbidden("a join token may only register nodes and run their agents; MCP needs an agent or admin token")
      case .admin, .agent, .read, .unauthenticated, .task:
        return .granted
      }
    } catch {
      _ = failedAuthentications.admit(address)
      return .refused(error.message)
    }
  }

  /// What a bearer token on `/mcp` gets.
  public enum MCPAccess: Sendable, Equatable {
    case granted
    /// Missing, unknown, revoked or expired (HTTP 401), saying which.
    case refused(String)
    /// A real token of a kind MCP does not take (HTTP 403).
    case forbidden(String)
    /// The caller's address failed too often (HTTP 429).
    case limited(String)
  }
}
