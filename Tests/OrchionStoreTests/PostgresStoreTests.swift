import Foundation
import Logging
import OrchionCore
import OrchionStore
import OrchionTestSupport
import PostgresNIO
import Testing

/// A lease statement, retried while it times out: statements give up after 1 s, and a loaded
/// 2-core machine running the whole suite can take that long; the orchestrator's lease loop
/// retries the same way. A definite answer (held, not held) is never retried.
func patiently<T>(_ body: () async throws -> T) async throws -> T {
  var attempts = 0
  while true {
    do {
      return try await body()
    } catch let error as OrchionError where error.code == .storeUnavailable && attempts < 5 {
      attempts += 1
    }
  }
}

/// Two stores on one database: an "old" leader whose lease lasts `oldLease`, and a "new" one
/// with a 30 s lease, waiting to take over.
func oldAndNewLeader(
  _ url: String,
  oldLease: Duration
) async throws -> (PostgresStore, LeaderLease, PostgresStore, LeaderLease) {
  let location = try PostgresURL(parsing: url)
  let old = try await PostgresStore.connect(location)
  let new = try await PostgresStore.connect(location)
  return (
    old, LeaderLease(store: old, instance: "old", address: "o:1", duration: oldLease),
    new, LeaderLease(store: new, instance: "new", address: "n:1", duration: .seconds(30))
  )
}

@Suite("PostgreSQL store: lease, fencing, reconnection")
struct PostgresStoreTests {
  @Test(
    "one lease holder at a time; a takeover after expiry increments the token; renewals by the old holder fail"
  )
  func lease() async throws {
    try await withQuietPeriod {
      try await TestPostgres.withDatabase { url in
        let first = try await PostgresStore.connect(try PostgresURL(parsing: url))
        let second = try await PostgresStore.connect(try PostgresURL(parsing: url))
        let a = LeaderLease(store: first, instance: "a", address: "a:1", duration: .seconds(2))
        let b = LeaderLease(
          store: second,
          instance: "b",
          address: "b:1",
          duration: .seconds(2)
        )
        let tokenA = try #require(try await patiently { try await a.acquire() })
        #expect(try await patiently { try await b.acquire() } == nil)
        #expect(
          try await patiently { try await b.leader() }
            == LeaderLease.Holder(instance: "a", address: "a:1", token: tokenA)
        )
        #expect(try await patiently { try await a.renew(token: tokenA) })

        // a stops renewing (as if frozen); once its lease has expired, b takes over.
        var tokenB: Int64?
        for _ in 0..<80 where tokenB == nil {
          try await Task.sleep(for: .milliseconds(100))
          tokenB = try await patiently { try await b.acquire() }
        }
        let taken = try #require(tokenB)
        #expect(taken == tokenA + 1)
        #expect(try await patiently { try await a.renew(token: tokenA) } == false)
        #expect(try await patiently { try await a.leader() }?.instance == "b")

        // A graceful release lets the other take over at once.
        try await patiently { try await b.release(token: taken) }
        #expect(try await patiently { try await a.acquire() } == taken + 1)
        await first.close()
        await second.close()
      }
    }
  }

  @Test("commits of a fenced store fail once another holds the lease, and change nothing")
  func fencing() async throws {
    try await withQuietPeriod {
      try await TestPostgres.withDatabase { url in
        // Not shorter than 1 s: fenced transactions may idle half the lease, and a loaded
        // 2-core machine (the end-to-end tests run alongside) can pause one for 150 ms.
        let (old, oldLease, new, newLease) = try await oldAndNewLeader(url, oldLease: .seconds(1))
        let oldToken = try #require(try await patiently { try await oldLease.acquire() })
        old.fence(with: oldToken)
        try await old.commit([.taskCreated(Fixtures.task(1))])

        var newToken: Int64?
        for _ in 0..<40 where newToken == nil {
          try await Task.sleep(for: .milliseconds(100))
          newToken = try await patiently { try await newLease.acquire() }
        }
        let token: Int64 = try #require(newToken)
        new.fence(with: token)
        let error = await #expect(throws: OrchionError.self) {
          try await old.commit([.taskCreated(Fixtures.task(2)), .taskDeleted(Fixtures.task(1).id)])
        }
        #expect(error?.code == .leaseLost)
        try await new.commit([.taskCreated(Fixtures.task(3))])
        #expect(try await new.loadTasks().map(\.id) == [Fixtures.task(1).id, Fixtures.task(3).id])
        await old.close()
        await new.close()
      }
    }
  }

  @Test("when the database drops every connection (as on a restart), the next commits reconnect")
  func reconnects() async throws {
    try await withQuietPeriod {
      try await TestPostgres.withDatabase { url in
        let store = try await PostgresStore.connect(try PostgresURL(parsing: url))
        try await store.commit([.taskCreated(Fixtures.task(1))])
        let database = try #require(url.split(separator: "/").last)
        try await TestPostgres.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()"
        )
        // The journal retries a commit that failed with UNAVAILABLE; here, the same by hand.
        var committed = false
        var failures = 0
        for _ in 0..<50 where !committed {
          do {
            try await store.commit([.taskCreated(Fixtures.task(2))])
            committed = true
          } catch let error as OrchionError where error.code == .storeUnavailable {
            failures += 1
            try await Task.sleep(for: .milliseconds(100))
          }
        }
        #expect(committed, "still failing after \(failures) tries")
        #expect(try await store.loadTasks().count == 2)
        await store.close()
      }
    }
  }

  @Test("a leader frozen inside a fenced commit does not hold the takeover off past its hold limit")
  func frozenInsideCommit() async throws {
    try await withQuietPeriod {
      try await TestPostgres.withDatabase { url in
        let location = try PostgresURL(parsing: url)
        let (old, oldLease, new, newLease) = try await oldAndNewLeader(
          url,
          oldLease: .milliseconds(500)
        )
        let token = try #require(try await patiently { try await oldLease.acquire() })
        // What a fenced commit does first, by a client that then freezes (never commits).
        let frozen = try await PostgresConnection.connect(
          configuration: .init(
            host: location.host,
            port: location.port,
            username: location.user,
            password: location.password,
            database: location.database,
            tls: .disable
          ),
          id: 7,
          logger: Logger(label: "frozen", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let logger = Logger(label: "frozen", factory: { _ in SwiftLogNoOpLogHandler() })
        try await frozen.query("BEGIN", logger: logger)
        _ = try await frozen.query(
          "SELECT token FROM orchion_leader WHERE id = 1 AND token = \(token) FOR SHARE",
          logger: logger
        ).collect()
        // The limit last: set first, a loaded machine could idle the test's own statements
        // past 300 ms and end the transaction before it holds anything.
        try await frozen.query(
          PostgresQuery(unsafeSQL: "SET LOCAL idle_in_transaction_session_timeout = 300"),
          logger: logger
        )

        var taken: Int64?
        let clock = ContinuousClock()
        let start = clock.now
        while taken == nil, clock.now - start < .seconds(10) {
          taken = try? await newLease.acquire()
          if taken == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(taken == token + 1)
        try? await frozen.close()
        await old.close()
        await new.close()
      }
    }
  }

  @Test(
    "a commit on a connection that stopped answering returns once its task is cancelled",
    .timeLimit(.minutes(1))
  )
  func cancelledCommitOnSilentConnection() async throws {
    try await TestPostgres.withDatabase { url in
      let location = try PostgresURL(parsing: url)
      let relay = try ChildProcess(
        "/usr/bin/env",
        [
          "python3", BuiltProducts.repositoryRoot + "/Tests/Interop/tcp_relay.py",
          location.host, "\(location.port)",
        ]
      )
      defer { relay.signal(SIGKILL) }
      try await eventually { Int(relay.standardOutput.split(separator: "\n").first ?? "") != nil }
      let port = relay.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
      let relayed = try PostgresURL(
        parsing: url.replacingOccurrences(
          of: "@\(location.host):\(location.port)/",
          with: "@127.0.0.1:\(port)/"
        )
      )
      let store = try await PostgresStore.connect(relayed)
      try await store.commit([.taskCreated(Fixtures.task(1))])
      // A silent partition: the relay passes nothing and closes nothing.
      relay.signal(SIGSTOP)
      let commit = Task { try await store.commit([.taskCreated(Fixtures.task(2))]) }
      try await Task.sleep(for: .milliseconds(200))
      commit.cancel()
      let error = await #expect(throws: OrchionError.self) { try await commit.value }
      #expect(error?.code == .storeUnavailable, "\(String(describing: error))")
      // The partition heals into resets: whatever the abandoned call waits on ends.
      relay.signal(SIGKILL)
      relay.signal(SIGCONT)
      await store.close()
    }
  }
}
