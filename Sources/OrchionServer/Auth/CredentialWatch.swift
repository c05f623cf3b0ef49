import GRPCCore
import Synchronization

/// The RPCs in flight, by the credentials they were authorised with, so that revoking a token
/// or replacing a node's credential cuts off at once every stream opened with it — an agent
/// stream that would go on receiving assignments (and their secrets), a log follow, a
/// subscription — not only the calls made after.
///
/// ``AuthInterceptor`` registers each call it lets through; ``revoke(_:)`` cancels the ones
/// holding a credential (their handlers end through `withRPCCancellationHandler`) and makes
/// them end with UNAUTHENTICATED.
final class CredentialWatch: Sendable {
  /// A credential an RPC holds.
  enum Key: Hashable, Sendable {
    /// An API token, by its public ID.
    case token(id: String)
    /// A node credential, by its digest.
    case nodeCredential(digest: [UInt8])
  }

  /// Whether the credentials of one RPC were revoked while it ran.
  final class Revocation: Sendable {
    private let reason = Mutex<String?>(nil)

    /// Why the RPC was cut off, once it was.
    var revoked: String? { reason.withLock { $0 } }

    fileprivate func set(_ text: String) -> Bool {
      reason.withLock { current in
        guard current == nil else { return false }
        current = text
        return true
      }
    }
  }

  private struct Watched: Sendable {
    var keys: [Key]
    var cancellation: ServerContext.RPCCancellationHandle
    var revocation: Revocation
  }

  private struct State: Sendable {
    var next: UInt64 = 0
    var calls: [UInt64: Watched] = [:]
    var byKey: [Key: Set<UInt64>] = [:]
  }

  private let state = Mutex(State())

  /// A registered RPC.
  struct Ticket: Sendable {
    fileprivate let id: UInt64
    /// Set once the RPC's credentials were revoked.
    let revocation: Revocation

    /// Throws UNAUTHENTICATED when the RPC was cut off.
    func check() throws {
      if let reason = revocation.revoked { throw RPCError(code: .unauthenticated, message: reason) }
    }
  }

  /// Registers an RPC as holding `keys`, before its handler runs (so it is watched before the
  /// caller can see it open): revoking one of them cancels it. ``finish(_:)`` when it ends.
  /// - Returns: `nil` when it holds nothing revocable.
  func register(
    holding keys: [Key],
    cancellation: ServerContext.RPCCancellationHandle
  ) -> Ticket? {
    guard !keys.isEmpty else { return nil }
    let revocation = Revocation()
    let id = state.withLock { state in
      let id = state.next
      state.next &+= 1
      state.calls[id] = Watched(keys: keys, cancellation: cancellation, revocation: revocation)
      for key in keys { state.byKey[key, default: []].insert(id) }
      return id
    }
    return Ticket(id: id, revocation: revocation)
  }

  /// Stops watching an RPC that ended.
  func finish(_ ticket: Ticket) {
    state.withLock { state in
      guard let watched = state.calls.removeValue(forKey: ticket.id) else { return }
      for key in watched.keys {
        state.byKey[key]?.remove(ticket.id)
        if state.byKey[key]?.isEmpty == true { state.byKey[key] = nil }
      }
    }
  }

  /// Cuts off every RPC holding `key`.
  /// - Parameter reason: What the callers are told (UNAUTHENTICATED).
  /// - Returns: How many were cut off.
  @discardableResult
  func revoke(_ key: Key, reason: String) -> Int {
    let cut = state.withLock { state in
      (state.byKey[key] ?? []).compactMap { state.calls[$0] }
    }
    var count = 0
    for watched in cut where watched.revocation.set(reason) {
      watched.cancellation.cancel()
      count += 1
    }
    return count
  }

  /// RPCs watched now (for tests).
  var count: Int { state.withLock { $0.calls.count } }
}
