import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `orchion.v1.TokenService`: API tokens, for admins (``AuthInterceptor`` keeps join tokens out).
struct TokenServiceHandler: Orchion_V1_TokenService.SimpleServiceProtocol {
  /// `nil` when authentication is off: there are no tokens to manage.
  let tokens: TokenRegistry?
  /// Streams opened with a token end when it is revoked.
  let watch: CredentialWatch
  /// Where dashboard login codes are made.
  let sessions: DashboardSessions

  /// The longest description, in bytes.
  static let maxDescriptionBytes = 256

  func createToken(
    request: Orchion_V1_CreateTokenRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_CreateTokenResponse {
    let tokens = try enabledTokens()
    guard [.admin, .join, .read, .agent].contains(request.kind) else {
      throw OrchionError.invalidArgument(
        field: "kind",
        "kind: must be TOKEN_KIND_ADMIN, TOKEN_KIND_JOIN, TOKEN_KIND_READ or TOKEN_KIND_AGENT"
      )
    }
    let ttl = request.hasTtl ? try Duration(validating: request.ttl, field: "ttl") : nil
    guard request.description_p.utf8.count <= Self.maxDescriptionBytes,
      TextRules.firstControlCharacter(in: request.description_p) == nil
    else {
      throw OrchionError.invalidArgument(
        field: "description",
        "description: at most \(Self.maxDescriptionBytes) bytes, no control characters"
      )
    }
    let created = try await tokens.create(
      kind: request.kind,
      ttl: ttl == .zero ? nil : ttl,
      description: request.description_p
    )
    return .with {
      $0.info = created.info
      $0.token = created.token
    }
  }

  func listTokens(
    request: Orchion_V1_ListTokensRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_ListTokensResponse {
    .with { $0.tokens = (try? enabledTokens().list()) ?? [] }
  }

  func revokeToken(
    request: Orchion_V1_RevokeTokenRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_RevokeTokenResponse {
    let tokens = try enabledTokens()
    guard !request.id.isEmpty, request.id.utf8.count <= 64 else {
      throw OrchionError.invalidArgument(
        field: "id",
        "id: the token's ID, as `orchion token list` shows it"
      )
    }
    let info = try await tokens.revoke(request.id)
    // Durable now: whoever holds it is cut off, also mid-stream.
    watch.revoke(
      .token(id: info.id),
      reason: "token \(info.id) was revoked"
    )
    return .with { $0.info = info }
  }

  func createLoginLink(
    request: Orchion_V1_CreateLoginLinkRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_CreateLoginLinkResponse {
    guard let base = sessions.dashboardURL else {
      throw OrchionError.failedPrecondition(
        "this orchestrator serves no dashboard (started with --http-port off)"
      )
    }
    let (code, expiresAt) = try sessions.makeCode(
      for: Caller.current?.principal ?? .unauthenticated
    )
    return .with {
      $0.url = base + "/login?code=" + code
      $0.expiresAt = .init(expiresAt)
    }
  }

  private func enabledTokens() throws(OrchionError) -> TokenRegistry {
    guard let tokens else {
      throw .failedPrecondition("authentication is off (--no-auth): there are no tokens")
    }
    return tokens
  }
}
