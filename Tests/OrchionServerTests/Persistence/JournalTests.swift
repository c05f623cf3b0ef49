import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionServer

/// A real SQLite store with one fault injected: the next commit lands and then reports a lost
/// connection (the outcome a client cannot tell from "did not land"), or is refused as fenced;
/// or every commit is refused as the disk being full, or the store unreachable, until cleared.
private final class FaultyStore: Store {
  enum Fault: Sendable { case none, landedButUnavailable, fenced, full, unreachable }

  let real: SQLiteStore
  private let fault = Mutex(Fault.none)
  private let commits = Mutex(0)

  init() throws { real = try SQLiteStore.inMemory() }

  func inject(_ next: Fault) { fault.withLock { $0 = next } }
  var commitCount: Int { commits.withLock { $0 } }

  func commit(_ changes: [StateChange]) async throws(OrchionError) {
    let next = fault.withLock { current in
      defer { if current != .full, current != .unreachable { current = .none } }
      return current
    }
    commits.withLock { $0 += 1 }
    switch next {
    case .fenced: throw .leaseLost("this orchestrator no longer holds the leader lease")
    case .full:
      throw .storeFull("disk full: SQLite cannot commit: database or disk is full")
    case .unreachable: throw .storeUnavailable("connection refused")
    case .landedButUnavailable:
      try await real.commit(changes)
      throw .storeUnavailable("connection lost during COMMIT")
    case .none:
      try await real.commit(changes)
    }
  }

  func loadTasks() async throws(OrchionError) -> [TaskRecord] { try await real.loadTasks() }
  func task(_ id: TaskID) async throws(OrchionError) -> TaskRecord? { try await real.task(id) }
  func tasks(_ query: TaskQuery) async throws(OrchionError) -> TaskPage {
    try await real.tasks(query)
  }
  func nodes() async throws(OrchionError) -> [Node] { try await real.nodes() }
  func records(_ kind: RecordKind) async throws(OrchionError) -> [KeyedRecord] {
    try await real.records(kind)
  }
  func logs(of task: TaskID, from index: Int64, limit: Int) async throws(OrchionError)
    -> [StoredLogEntry]
  {
    try await real.logs(of: task, from: index, limit: limit)
  }
  func export(_ emit: (ExportedRecord) throws -> Void) async throws {
    try await real.export(emit)
  }
  func close() async { await real.close() }
}

@Suite("Journal")
struct JournalTests {
  private let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  private func task(_ n: UInt32) -> TaskRecord {
    TaskRecord(
      id: TaskID(createdAt: UTCInstant(nanosecondsSinceEpoch: 1_000_000_000_000), sequence: n),
      spec: TaskSpec(command: ["true"]),
      createdAt: UTCInstant(nanosecondsSinceEpoch: 1_000_000_000_000)
    )
  }

  @Test(
    "effects run in order once their changes are stored; what queued meanwhile shares one commit"
  )
  func effectsAfterDurable() async throws {
    let store = try FaultyStore()
    let journal = Journal(store: store, logger: logger)
    let seen = Mutex<[Int]>([])
    // Queued before the journal runs: all of it goes into the first commit.
    var last: UInt64 = 0
    for n in 1...50 {
      last = journal.append([.taskCreated(task(UInt32(n)))]) {
        seen.withLock { $0.append(n * 1000 + store.commitCount) }
      }
    }
    #expect(store.commitCount == 0)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await journal.run() }
      try await journal.waitUntilDurable(last)
      // Each effect ran after the one commit that holds its change, in append order.
      #expect(seen.withLock { $0 } == (1...50).map { $0 * 1000 + 1 })
      #expect(try await store.loadTasks().count == 50)
      journal.close()
      try await group.waitForAll()
    }
  }

  @Test("a commit whose outcome is unknown is retried harmlessly: the task is stored once")
  func retryAfterUnknownOutcome() async throws {
    let store = try FaultyStore()
    let journal = Journal(store: store, logger: logger, maxRetryDelay: .milliseconds(10))
    store.inject(.landedButUnavailable)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await journal.run() }
      let record = task(1)
      try await journal.waitUntilDurable(journal.append([.taskCreated(record)]))
      #expect(store.commitCount == 2)
      #expect(try await store.loadTasks() == [record])
      journal.close()
      try await group.waitForAll()
    }
  }

  @Test("a fenced store stops the journal: waiters hear the lease is lost, effects never run")
  func fenced() async throws {
    let store = try FaultyStore()
    let journal = Journal(store: store, logger: logger)
    store.inject(.fenced)
    let ran = Mutex(false)
    let running = Task { await journal.run() }
    let entry = journal.append([.taskCreated(task(1))]) { ran.withLock { $0 = true } }
    let error = await #expect(throws: OrchionError.self) {
      try await journal.waitUntilDurable(entry)
    }
    #expect(error?.code == .leaseLost)
    #expect(journal.failure?.code == .leaseLost)
    // The store's refusal is kept as the cause: the log says what refused.
    #expect(journal.failure?.cause?.message == "this orchestrator no longer holds the leader lease")
    await running.value
    #expect(ran.withLock { $0 } == false)
    #expect(try await store.loadTasks().isEmpty)
  }

  @Test(
    "a full store fails waiters at once with storeFull, refuses new work, keeps the changes in order, and recovers",
    .timeLimit(.minutes(1))
  )
  func fullStore() async throws {
    let store = try FaultyStore()
    let clock = ManualClock()
    let journal = Journal(store: store, logger: logger, clock: clock)
    store.inject(.full)
    let running = Task { await journal.run() }
    let ran = Mutex(false)
    let first = journal.append([.taskCreated(task(1))]) { ran.withLock { $0 = true } }
    // Answered while the clock stands still: the waiter does not wait for a retry.
    let error = await #expect(throws: OrchionError.self) {
      try await journal.waitUntilDurable(first)
    }
    #expect(error?.code == .storeFull)
    #expect(error?.message.hasPrefix("disk full") == true)
    let refusal = #expect(throws: OrchionError.self) { try journal.checkAccepting() }
    #expect(refusal?.code == .storeFull)
    // A waiter that comes while the store is full is answered at once too.
    let second = journal.append([.taskCreated(task(2))])
    let later = await #expect(throws: OrchionError.self) {
      try await journal.waitUntilDurable(second)
    }
    #expect(later?.code == .storeFull)
    #expect(ran.withLock { $0 } == false)

    // Space frees: the retry writes both changes, in order, and runs the effect.
    store.inject(.none)
    try await clock.waitForSleepers(1)
    clock.advance(by: .seconds(2))
    try await eventually { (try? journal.checkAccepting()) != nil }
    let third = journal.append([.taskCreated(task(3))])
    try await journal.waitUntilDurable(third)
    try journal.checkAccepting()
    #expect(ran.withLock { $0 } == true)
    #expect(try await store.loadTasks().map(\.id) == [task(1).id, task(2).id, task(3).id])
    journal.close()
    await running.value
  }

  @Test(
    "a retry loop ends when its task is cancelled; its waiters are told it is shutting down",
    .timeLimit(.minutes(1))
  )
  func cancelledRetry() async throws {
    let store = try FaultyStore()
    let clock = ManualClock()
    let journal = Journal(store: store, logger: logger, clock: clock)
    store.inject(.unreachable)
    let running = Task { await journal.run() }
    let entry = journal.append([.taskCreated(task(1))])
    let waiter = Task { try await journal.waitUntilDurable(entry) }
    // Retrying, asleep on the clock, which no one advances: only cancellation can end it.
    try await clock.waitForSleepers(1)
    running.cancel()
    await running.value
    let error = await #expect(throws: OrchionError.self) { try await waiter.value }
    #expect(error?.code == .shuttingDown)
    let commits = store.commitCount
    #expect(commits == 1)
  }
}
