import Logging
import OrchionCore
import OrchionStore
import ServiceLifecycle
import Synchronization

/// Campaigns for the leader lease of a shared PostgreSQL store and keeps it.
///
/// Followers try to take the lease every third of its duration and learn who leads. The one
/// that gets it fences the store with its term's token, loads the state (``Recovery``) and only
/// then takes writes. A leader renews every third of the lease; when a renewal finds the lease
/// taken (it was paused or cut off past the lease) or it cannot renew for two thirds of the
/// lease, it stops: the service throws and the process exits, as Kubernetes' controllers do on
/// losing their lease — its memory may be stale, and a fresh start rejoins as a follower. On
/// graceful shutdown, after everything else stopped, it releases the lease so a follower takes
/// over at once.
struct LeadershipService: Service {
  /// Rounds, renewal ages and validity are measured on it.
  let clock: any WallClock
  let lease: any LeaseCampaign
  /// Fences the shared store with a new term's token: commits of an older term are refused.
  let fence: @Sendable (_ token: Int64, _ holdLimit: Duration) -> Void
  let leadership: Leadership
  let health: HealthStatusBoard
  let serviceNames: [String]
  /// Loads the state; runs once, when this orchestrator is elected.
  let onElected: @Sendable () async throws -> Void
  let logger: Logger

  func run() async throws {
    let term = HeldTerm()
    do {
      try await cancelWhenGracefulShutdown { try await campaign(holding: term) }
    } catch is CancellationError {
      // Graceful shutdown: everything else has stopped.
    } catch let taken as LeaseTaken {
      throw OrchionError.leaseLost(
        "lost the leader lease (term \(taken.term)): another orchestrator took over; exiting so a fresh start rejoins as a follower"
      )
    }
    if let token = term.token {
      try? await lease.release(token: token)
      logger.notice("released the leader lease", metadata: ["orchion.lease.token": "\(token)"])
    }
  }

  /// Follows, and leads once elected, until cancelled or the lease is lost.
  private func campaign(holding held: HeldTerm) async throws {
    let interval = lease.duration / 3
    var term: (token: Int64, renewed: UTCInstant)?
    while true {
      // Rounds start every interval, however long the last one took: a slow renewal must not
      // push the next one past the two thirds of the lease that leading is good for.
      let round = clock.now
      if let current = term {
        let askedAt = clock.now
        do {
          guard try await lease.renew(token: current.token) else {
            leadership.stepDown()
            throw LeaseTaken(term: current.token)
          }
          term?.renewed = clock.now
          // Two thirds of the lease from before the renewal was asked for: stepping down at
          // that point leaves a third of the lease before anyone else can take it.
          leadership.renewed(until: askedAt.advanced(by: lease.duration * 2 / 3))
        } catch let error as OrchionError where error.code == .storeUnavailable {
          if current.renewed.duration(to: clock.now) > lease.duration * 2 / 3 {
            leadership.stepDown()
            throw OrchionError.leaseLost(
              "cannot renew the leader lease; stepping down before it expires",
              cause: error
            )
          }
          logger.warning(
            "cannot renew the leader lease",
            metadata: ["error": "\(error.fullMessage)"]
          )
        }
      } else {
        do {
          let askedAt = clock.now
          if let token = try await lease.acquire() {
            fence(token, lease.duration / 2)
            term = (token, clock.now)
            held.token = token
            logger.notice(
              "elected leader; loading state",
              metadata: ["orchion.lease.token": "\(token)", "orchion.address": "\(lease.address)"]
            )
            try await onElected()
            leadership.becomeLeader(until: askedAt.advanced(by: lease.duration * 2 / 3))
            for name in serviceNames { health.set(.serving, for: name) }
            logger.notice("leading", metadata: ["orchion.lease.token": "\(token)"])
          } else {
            let leader = try await lease.leader()
            if leadership.current != .follower(leader: leader?.address) {
              logger.info("following", metadata: ["orchion.leader": "\(leader?.address ?? "none")"])
            }
            leadership.follow(leader: leader?.address)
          }
        } catch let error as OrchionError where error.code == .storeUnavailable {
          logger.warning("cannot reach the store", metadata: ["error": "\(error.fullMessage)"])
        }
      }
      try await clock.sleep(until: round.advanced(by: interval), tolerance: nil)
    }
  }
}

/// The leader lease as the campaign uses it: ``LeaderLease`` on PostgreSQL, a scripted one in
/// tests.
protocol LeaseCampaign: Sendable {
  /// How long the lease lasts unrenewed.
  var duration: Duration { get }
  /// Where this orchestrator is reached, as it advertises itself.
  var address: String { get }
  /// Takes the lease if it is free or expired: the new term's fencing token, `nil` when
  /// another holds it.
  func acquire() async throws(OrchionError) -> Int64?
  /// Extends the term `token`; false when another has taken the lease meanwhile.
  func renew(token: Int64) async throws(OrchionError) -> Bool
  func release(token: Int64) async throws(OrchionError)
  /// Who holds the lease now.
  func leader() async throws(OrchionError) -> LeaderLease.Holder?
}

extension LeaderLease: LeaseCampaign {}

/// A renewal found the lease taken by another orchestrator: a typed outcome, so that the
/// retry of passing store errors cannot mistake it for one.
private struct LeaseTaken: Error {
  let term: Int64
}

/// The term this orchestrator holds, if any.
private final class HeldTerm: Sendable {
  private let storage = Mutex<Int64?>(nil)

  var token: Int64? {
    get { storage.withLock { $0 } }
    set { storage.withLock { $0 = newValue } }
  }
}
