import Logging
import OrchionCore
import OrchionStore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionServer

/// The campaign's decisions on the manual clock, against a lease whose answers the test
/// scripts. (The lease itself runs against a real PostgreSQL in `PostgresStoreTests`.)
@Suite("LeadershipService", .timeLimit(.minutes(1)))
struct LeadershipServiceTests {
  /// A lease that answers as told: `acquire` with `nextToken` while free; `renew` with what
  /// `renewal` says.
  final class ScriptedLease: LeaseCampaign {
    enum Renewal: Sendable {
      case renewed
      case taken
      case unreachable
    }

    let duration: Duration
    let address = "10.0.0.1:50051"
    let renewal = Mutex(Renewal.renewed)
    let free = Mutex(true)
    let renewals = Mutex(0)
    let released = Mutex<[Int64]>([])

    init(duration: Duration) { self.duration = duration }

    func acquire() async throws(OrchionError) -> Int64? {
      free.withLock { free in
        defer { free = false }
        return free ? 7 : nil
      }
    }

    func renew(token: Int64) async throws(OrchionError) -> Bool {
      renewals.withLock { $0 += 1 }
      switch renewal.withLock({ $0 }) {
      case .renewed: return true
      case .taken: return false
      case .unreachable: throw .storeUnavailable("connection refused")
      }
    }

    func release(token: Int64) async throws(OrchionError) {
      released.withLock { $0.append(token) }
    }

    func leader() async throws(OrchionError) -> LeaderLease.Holder? {
      LeaderLease.Holder(instance: "other", address: "10.0.0.2:50051", token: 6)
    }
  }

  let clock = ManualClock()
  let lease = ScriptedLease(duration: .seconds(3))
  let leadership: Leadership
  let health = HealthStatusBoard(serving: ["orchion.v1.TaskService"])
  let seen = Seen()

  /// What the campaign did besides leading: elections run and fences set.
  final class Seen: Sendable {
    let elections = Mutex(0)
    let fences = Mutex<[Int64]>([])
  }

  init() {
    leadership = Leadership(.follower(leader: nil), clock: clock)
  }

  var service: LeadershipService {
    LeadershipService(
      clock: clock,
      lease: lease,
      fence: { [seen] token, _ in seen.fences.withLock { $0.append(token) } },
      leadership: leadership,
      health: health,
      serviceNames: ["orchion.v1.TaskService"],
      onElected: { [seen] in seen.elections.withLock { $0 += 1 } },
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
  }

  /// One interval (a third of the lease) passes; returns once the campaign's round is over
  /// and it sleeps again.
  func nextRound() async throws {
    clock.advance(by: .seconds(1))
    try await clock.waitForSleepers(1)
  }

  @Test("a follower that gets the lease fences the store, loads the state, then leads")
  func elected() async throws {
    let run = Task { [service] in try await service.run() }
    try await clock.waitForSleepers(1)
    #expect(leadership.isLeader)
    #expect(seen.fences.withLock { $0 } == [7])
    #expect(seen.elections.withLock { $0 } == 1)
    #expect(health.status(of: "orchion.v1.TaskService") == .serving)
    run.cancel()
    _ = await run.result
  }

  @Test("a renewal that finds the lease taken stops the service with LEASE_LOST")
  func taken() async throws {
    let run = Task { [service] in try await service.run() }
    try await clock.waitForSleepers(1)
    try await nextRound()
    #expect(lease.renewals.withLock { $0 } == 1)
    lease.renewal.withLock { $0 = .taken }
    clock.advance(by: .seconds(1))
    let outcome = await run.result
    let error = #expect(throws: OrchionError.self) { try outcome.get() }
    #expect(error?.code == .leaseLost)
    #expect(error?.message.contains("another orchestrator took over") == true)
    #expect(!leadership.isLeader)
  }

  @Test(
    "a leader that cannot reach the store stops leading two thirds of the lease after its last renewal, and then steps down"
  )
  func unreachable() async throws {
    let run = Task { [service] in try await service.run() }
    try await clock.waitForSleepers(1)  // elected at t = 0
    try await nextRound()  // t = 1 s: renewed, valid until 3 s
    lease.renewal.withLock { $0 = .unreachable }
    try await nextRound()  // t = 2 s: 1 s without a renewal
    #expect(leadership.isLeader)
    try await nextRound()  // t = 3 s: validity over; the campaign still retries
    #expect(!leadership.isLeader)
    #expect(lease.renewals.withLock { $0 } == 3)
    clock.advance(by: .seconds(1))  // t = 4 s: past two thirds of the lease: it steps down
    let outcome = await run.result
    if case .failure(let error as OrchionError) = outcome {
      #expect(error.code == .leaseLost)
      #expect(error.cause?.code == .storeUnavailable)
    } else {
      Issue.record("the service went on past two thirds of the lease without a renewal")
    }
    #expect(leadership.current == .follower(leader: nil))
  }

  @Test("a leader frozen past its validity stops leading before anyone tells it")
  func frozen() {
    let leadership = Leadership(.follower(leader: nil), clock: clock)
    leadership.becomeLeader(until: clock.now.advanced(by: .seconds(2)))
    #expect(leadership.isLeader)
    clock.advance(by: .seconds(1))
    #expect(leadership.isLeader)
    clock.advance(by: .seconds(1))
    #expect(leadership.current == .follower(leader: nil))
    leadership.renewed(until: clock.now.advanced(by: .seconds(2)))
    #expect(leadership.isLeader)
  }
}
