import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import Synchronization
import Testing

@testable import OrchionServer

/// A real SQLite store with one fault injected: the next commit lands and then reports a lost
/// connection (the outcome a client cannot tell from "did not land"), or is refused as fenced.
private final class FaultyStore: Store {
  enum Fault: Sendable { case none, landedButUnavailable, fenced }

  let real: SQLiteStore
  private let fault = Mutex(Fault.none)
  private let commits = Mutex(0)

  init() throws { real = try SQLiteStore.inMemory() }

  func inject(_ next: Fault) { fault.withLock { $0 = next } }
  var commitCount: Int { commits.withLock { $0 } }

  func commit(_ changes: [StateChange]) async throws(OrchionError) {
    let next = fault.withLock { current in
      defer { current = .none }
      return current
    }
    commits.withLock { $0 += 1 }
    switch next {
    case .fenced: throw .failedPrecondition("this orchestrator no longer holds the leader lease")
    case .landedButUnavailable:
      try await real.commit(changes)
      throw .unavailable("connection lost during COMMIT")
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
  func export(_ emit: (OrchionAPI.Orchion_V1_ExportRecord) throws -> Void) async throws {
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

  @Test("a fenced store stops the journal: waiters fail UNAVAILABLE, effects never run")
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
    #expect(error?.code == .unavailable)
    #expect(journal.failure?.code == .unavailable)
    await running.value
    #expect(ran.withLock { $0 } == false)
    #expect(try await store.loadTasks().isEmpty)
  }
}
