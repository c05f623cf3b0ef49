import GRPCCore
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

  private let role: Mutex<Role>

  init(_ role: Role) {
    self.role = Mutex(role)
  }

  public var current: Role { role.withLock { $0 } }

  public var isLeader: Bool { current == .leader }

  func becomeLeader() {
    role.withLock { $0 = .leader }
  }

  func follow(leader: String?) {
    role.withLock { $0 = .follower(leader: leader) }
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
