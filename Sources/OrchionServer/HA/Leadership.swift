import GRPCCore
import OrchionCore
import Synchronization

/// Whether this orchestrator leads. With an embedded store it always does; with a shared
/// PostgreSQL store one orchestrator of several holds the leader lease (``LeadershipService``),
/// and the others follow: they serve reads from the store and refuse writes with UNAVAILABLE,
/// naming the leader.
public final class Leadership: Sendable {
  public enum Role: Sendable, Equatable {
    case leader
    /// Following the leader at this address (`nil`: none is known right now).
    case follower(leader: String?)
  }

  /// Metadata key naming the leader's address on a follower's UNAVAILABLE answer.
  public static let leaderMetadataKey = "orchion-leader"

  private struct State {
    var role: Role
    /// With a shared store, leading ends here unless the lease is renewed first: a leader that
    /// was frozen (SIGSTOP, a VM paused) past it wakes up a follower, before it has heard that
    /// another took over. `nil`: no lease (embedded store), always leading.
    var validUntil: UTCInstant?
  }

  private let state: Mutex<State>
  /// What validity is measured on: a monotonic clock in production (``SystemClock`` does not
  /// jump when the wall clock is stepped), a manual one in tests.
  private let clock: any WallClock

  init(_ role: Role, clock: any WallClock) {
    self.state = Mutex(State(role: role, validUntil: nil))
    self.clock = clock
  }

  public var current: Role {
    let now = clock.now
    return state.withLock { state in
      if state.role == .leader, let validUntil = state.validUntil, now >= validUntil {
        return .follower(leader: nil)
      }
      return state.role
    }
  }

  public var isLeader: Bool { current == .leader }

  /// Leads, until `validUntil` unless renewed (``renewed(until:)``); `nil` for ever.
  func becomeLeader(until validUntil: UTCInstant? = nil) {
    state.withLock { $0 = State(role: .leader, validUntil: validUntil) }
  }

  /// The lease was renewed: leading goes on until `validUntil`.
  func renewed(until validUntil: UTCInstant) {
    state.withLock { state in
      if state.role == .leader { state.validUntil = validUntil }
    }
  }

  /// Stops leading: the lease is lost or cannot be renewed. Writes are refused from now on and
  /// agents' heartbeats go unacknowledged.
  func stepDown() {
    state.withLock { $0 = State(role: .follower(leader: nil), validUntil: nil) }
  }

  func follow(leader: String?) {
    state.withLock { $0 = State(role: .follower(leader: leader), validUntil: nil) }
  }

  /// What a follower answers a write with: UNAVAILABLE, the leader's address in the message and
  /// in `orchion-leader` metadata, so a client can go there.
  func notLeaderError() -> RPCError {
    guard case .follower(let leader) = current else {
      return RPCError(code: .unavailable, message: "this orchestrator is stepping down")
    }
    guard let leader else {
      return RPCError(
        code: .unavailable,
        message: "this orchestrator is not the leader and no leader is known yet; retry shortly"
      )
    }
    return RPCError(
      code: .unavailable,
      message: "this orchestrator is not the leader; the leader is at \(leader)",
      metadata: [Self.leaderMetadataKey: .string(leader)]
    )
  }
}
