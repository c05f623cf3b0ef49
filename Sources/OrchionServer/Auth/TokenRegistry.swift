import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The API tokens: admin tokens (from `--token`, or stored) and join tokens, checked on every
/// call by ``AuthInterceptor``.
///
/// A token is `<id>.<secret>`: the ID is public (`orchion token list` shows it, revocation
/// names it), the secret is 160 random bits. Only the SHA-256 of the whole token is kept, in
/// the store, and a presented token is compared against it in constant time.
public final class TokenRegistry: Sendable {
  struct Entry: Sendable {
    var info: Orchion_V1_TokenInfo
    var digest: [UInt8]
    var expiresAt: UTCInstant?
  }

  private struct State: Sendable {
    var tokens: [String: Entry] = [:]
    var refreshedAt: UTCInstant?
  }

  /// Random bytes in a token's ID (hex: 10 characters) and secret (40 characters).
  static let idBytes = 5
  static let secretBytes = 20
  /// How stale a follower's copy of the tokens may get (it reloads them from the store).
  static let followerRefresh = Duration.seconds(1)

  private let state = Mutex(State())
  private let configuredAdminDigests: [[UInt8]]
  private let journal: Journal
  private let store: any Store
  private let leadership: Leadership
  private let clock: any WallClock

  init(
    adminTokens: [String],
    journal: Journal,
    store: any Store,
    leadership: Leadership,
    clock: any WallClock
  ) {
    configuredAdminDigests = adminTokens.map(Credential.digest)
    self.journal = journal
    self.store = store
    self.leadership = leadership
    self.clock = clock
  }

  /// Replaces the tokens held with those the store holds (on start and on election).
  func restore(_ records: [KeyedRecord]) throws(OrchionError) {
    var tokens: [String: Entry] = [:]
    for record in records {
      let stored: Orchion_V1_StoredToken
      do {
        stored = try Orchion_V1_StoredToken(serializedBytes: record.body)
      } catch {
        throw .dataLoss("stored token '\(record.id)' is unreadable: \(error)")
      }
      tokens[record.id] = Entry(
        info: stored.info,
        digest: Array(stored.sha256),
        expiresAt: stored.info.hasExpiresAt ? UTCInstant(stored.info.expiresAt) : nil
      )
    }
    let now = clock.now
    state.withLock {
      $0.tokens = tokens
      $0.refreshedAt = now
    }
  }

  /// Whether no token is stored (tokens given with `--token` do not count).
  public var isEmpty: Bool { state.withLock { $0.tokens.isEmpty } }

  /// Who presents `authorization` (the metadata value, `Bearer <token>`).
  /// - Throws: `unauthenticated` when it is missing, malformed, unknown, revoked or expired.
  func authenticate(_ authorization: String?) async throws(OrchionError) -> Principal {
    // The scheme is case-insensitive (RFC 7235); the token is not.
    guard let authorization, authorization.prefix(7).lowercased() == "bearer " else {
      throw .unauthenticated(
        "missing 'authorization: Bearer <token>' metadata: give the CLI --token, ORCHION_TOKEN or ~/.orchion/config"
      )
    }
    let token = Self.bearerToken(authorization) ?? ""
    if !leadership.isLeader { await refreshFromStore() }
    guard let principal = principal(presenting: token) else {
      throw .unauthenticated("the token is not valid: unknown, revoked or expired")
    }
    return principal
  }

  /// The token of an `authorization: Bearer <token>` value; `nil` for another scheme.
  static func bearerToken(_ authorization: String) -> String? {
    guard authorization.prefix(7).lowercased() == "bearer " else { return nil }
    return authorization.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)
  }

  private func principal(presenting token: String) -> Principal? {
    let digest = Credential.digest(token)
    var configured = false
    for candidate in configuredAdminDigests where Credential.equal(candidate, digest) {
      configured = true
    }
    if configured { return .admin(tokenID: "configured") }
    guard let dot = token.firstIndex(of: ".") else { return nil }
    let id = String(token[..<dot])
    guard let entry = state.withLock({ $0.tokens[id] }), Credential.equal(entry.digest, digest)
    else { return nil }
    if let expiresAt = entry.expiresAt, expiresAt <= clock.now { return nil }
    switch entry.info.kind {
    case .join: return .join(tokenID: id)
    case .read: return .read(tokenID: id)
    case .agent: return .agent(tokenID: id)
    default: return .admin(tokenID: id)
    }
  }

  /// What the token with this ID grants a dashboard session now: `nil` once it is revoked or
  /// expired (or is a join token). `configured` is the `--token` admin token.
  func dashboardAccess(tokenID id: String) -> DashboardSessions.Access? {
    if id == "configured" { return configuredAdminDigests.isEmpty ? nil : .admin }
    guard let entry = state.withLock({ $0.tokens[id] }) else { return nil }
    if let expiresAt = entry.expiresAt, expiresAt <= clock.now { return nil }
    switch entry.info.kind {
    case .admin: return .admin
    case .read: return .read
    default: return nil
    }
  }

  /// A follower does not see the leader's writes: it reloads tokens now and then, so a token
  /// created or revoked on the leader takes effect here within ``followerRefresh``.
  private func refreshFromStore() async {
    let now = clock.now
    let due = state.withLock { state in
      guard let last = state.refreshedAt else { return true }
      return last.advanced(by: Self.followerRefresh) <= now
    }
    guard due, let records = try? await store.records(.token) else { return }
    try? restore(records)
  }

  /// A token made but not yet kept: see ``mint(kind:ttl:description:)`` and ``keep(_:)``.
  struct Minted: Sendable {
    var info: Orchion_V1_TokenInfo
    /// The token itself, `<id>.<secret>`: shown once, never stored.
    var token: String
    fileprivate var entry: Entry
    fileprivate var body: Data
  }

  /// Creates a token and waits until it is durable.
  /// - Parameters:
  ///   - kind: Admin or join.
  ///   - ttl: How long it is valid; `nil` for ever.
  ///   - description: What it is for, for `orchion token list`.
  /// - Returns: What `orchion token list` shows of it, and the token itself (never kept).
  func create(
    kind: Orchion_V1_TokenKind,
    ttl: Duration?,
    description: String
  ) async throws -> (info: Orchion_V1_TokenInfo, token: String) {
    let minted = try mint(kind: kind, ttl: ttl, description: description)
    try await keep([minted])
    return (minted.info, minted.token)
  }

  /// Makes a token without keeping it: it works only once ``keep(_:)`` has run.
  func mint(kind: Orchion_V1_TokenKind, ttl: Duration?, description: String) throws -> Minted {
    let id = Credential.randomHex(bytes: Self.idBytes)
    let token = id + "." + Credential.randomHex(bytes: Self.secretBytes)
    let now = clock.now
    let expiresAt = ttl.map { now.advanced(by: $0) }
    let info = Orchion_V1_TokenInfo.with {
      $0.id = id
      $0.kind = kind
      $0.description_p = description
      $0.createdAt = .init(now)
      if let expiresAt { $0.expiresAt = .init(expiresAt) }
    }
    let digest = Credential.digest(token)
    let record = Orchion_V1_StoredToken.with {
      $0.info = info
      $0.sha256 = Data(digest)
    }
    return Minted(
      info: info,
      token: token,
      entry: Entry(info: info, digest: digest, expiresAt: expiresAt),
      body: try record.serializedBytes()
    )
  }

  /// Makes `minted` tokens work, and keeps them in the store in one commit (all or none).
  func keep(_ minted: [Minted]) async throws {
    state.withLock { state in
      for token in minted { state.tokens[token.info.id] = token.entry }
    }
    let sequence = journal.append(
      minted.map { .recordSaved(KeyedRecord(kind: .token, id: $0.info.id, body: $0.body)) }
    )
    try await journal.waitUntilDurable(sequence)
  }

  /// Every stored token, oldest first.
  func list() -> [Orchion_V1_TokenInfo] {
    state.withLock { state in
      state.tokens.values.map(\.info).sorted {
        ($0.createdAt.seconds, $0.createdAt.nanos, $0.id)
          < ($1.createdAt.seconds, $1.createdAt.nanos, $1.id)
      }
    }
  }

  /// Revokes a token at once, and waits until that is durable.
  /// - Throws: `notFound` when no token has that ID.
  func revoke(_ id: String) async throws -> Orchion_V1_TokenInfo {
    guard let removed = state.withLock({ $0.tokens.removeValue(forKey: id) }) else {
      throw OrchionError.notFound("no token has ID \(TextRules.quoted(id))")
    }
    let sequence = journal.append([.recordDeleted(.token, id: id)])
    try await journal.waitUntilDurable(sequence)
    return removed.info
  }
}
