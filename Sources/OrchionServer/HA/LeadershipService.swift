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
  let lease: LeaderLease
  let store: any SharedStore
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
    let clock = ContinuousClock()
    let interval = lease.duration / 3
    var term: (token: Int64, renewed: ContinuousClock.Instant)?
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
          if clock.now - current.renewed > lease.duration * 2 / 3 {
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
            store.fence(with: token, holdLimit: lease.duration / 2)
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
      try await Task.sleep(for: max(.zero, round.advanced(by: interval) - clock.now))
    }
  }
}

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
