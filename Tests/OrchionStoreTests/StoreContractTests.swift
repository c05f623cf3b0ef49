import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import Testing

/// What every Store must do, run against each implementation.
@Suite("Store contract")
struct StoreContractTests {
  @Test(
    "a created task comes back with every field, also after a reopen",
    arguments: StoreKind.allCases
  )
  func roundTrip(kind: StoreKind) async throws {
    try await kind.withStore { store, reopen in
      var running = Fixtures.task(1, state: .running, node: "n1")
      running.exitCode = 0
      running.startedAt = Fixtures.start
      running.eviction = .drained
      running.cancelRequested = true
      running.lostAttempts = 2
      running.failedAttempts = 1
      running.message = "cancelling"
      // An earlier attempt that ended, typed.
      var earlier = AttemptRecord(
        number: 0,
        id: try AttemptID(validating: "a0"),
        node: try NodeID(validating: "n0"),
        assignedAt: Fixtures.start
      )
      earlier.outcome = .failed
      earlier.termination = .timedOut
      earlier.exitCode = 143
      earlier.finishedAt = Fixtures.start
      running.attempts.insert(earlier, at: 0)
      var finished = Fixtures.task(3, state: .failed)
      finished.termination = .couldNotStart
      var waiting = Fixtures.task(2)
      waiting.notBefore = Fixtures.start
      waiting.queuedAt = UTCInstant(nanosecondsSinceEpoch: Fixtures.start.nanosecondsSinceEpoch + 5)
      try await store.commit([
        .taskCreated(running), .taskCreated(waiting), .taskCreated(finished),
      ])

      let reopened = try await reopen()
      let loaded = try await reopened.loadTasks()
      #expect(loaded == [running, waiting, finished])
      #expect(try await reopened.task(running.id) == running)
      // An exit code of 0 is not the same as none.
      #expect(try await reopened.task(waiting.id)?.exitCode == nil)
    }
  }

  @Test("a commit is all or nothing", arguments: StoreKind.allCases)
  func atomicCommit(kind: StoreKind) async throws {
    try await kind.withStore { store, _ in
      let first = Fixtures.task(1)
      try await store.commit([.taskCreated(first)])
      let second = Fixtures.task(2)
      // Creating an existing task again is refused, and takes the rest of its batch with it.
      await #expect(throws: OrchionError.self) {
        try await store.commit([.taskCreated(second), .taskCreated(first)])
      }
      #expect(try await store.loadTasks().map(\.id) == [first.id])
    }
  }

  @Test(
    "changes replace the record; listing filters by state and node, newest first, in pages",
    arguments: StoreKind.allCases
  )
  func listing(kind: StoreKind) async throws {
    try await kind.withStore { store, _ in
      let tasks = (1...10).map { Fixtures.task(Int64($0)) }
      try await store.commit(tasks.map(StateChange.taskCreated))
      var placed: [TaskRecord] = []
      for index in [2, 4, 6, 8] {
        var task = Fixtures.task(Int64(index), state: .running, node: index < 5 ? "n1" : "n2")
        task.message = "moved"
        placed.append(task)
      }
      try await store.commit(placed.map(StateChange.taskChanged))

      let running = try await store.tasks(TaskQuery(state: .running, pageSize: 10))
      #expect(running.tasks.map(\.id) == placed.reversed().map(\.id))
      #expect(running.tasks.allSatisfy { $0.message == "moved" })
      #expect(running.next == nil)

      let onN1 = try await store.tasks(TaskQuery(node: try NodeID(validating: "n1"), pageSize: 10))
      #expect(onN1.tasks.map(\.id) == [placed[1].id, placed[0].id])

      var seen: [TaskID] = []
      var after: TaskID?
      repeat {
        let page = try await store.tasks(TaskQuery(pageSize: 3, after: after))
        #expect(page.tasks.count <= 3)
        seen += page.tasks.map(\.id)
        after = page.next
      } while after != nil
      #expect(seen == tasks.reversed().map(\.id))

      let pending = try await store.tasks(TaskQuery(state: .pending, pageSize: 6))
      #expect(pending.tasks.count == 6)
      #expect(pending.next == nil)
    }
  }

  @Test(
    "output is appended, read from a position, trimmed, and deleted with its task",
    arguments: StoreKind.allCases
  )
  func logs(kind: StoreKind) async throws {
    try await kind.withStore { store, reopen in
      let task = Fixtures.task(1, state: .running, node: "n1")
      let other = Fixtures.task(2, state: .running, node: "n1")
      try await store.commit([.taskCreated(task), .taskCreated(other)])
      try await store.commit(
        (0..<5).map { .logAppended(Fixtures.chunk(task.id, index: $0, text: "line \($0)\n")) }
          + [.logAppended(Fixtures.chunk(other.id, index: 0, text: "other\n"))]
      )
      let store = try await reopen()
      let all = try await store.logs(of: task.id, from: 0, limit: 100)
      #expect(all.map(\.index) == [0, 1, 2, 3, 4])
      #expect(all.map { String(decoding: $0.chunk.data, as: UTF8.self) }.first == "line 0\n")
      #expect(all.first == Fixtures.chunk(task.id, index: 0, text: "line 0\n"))
      #expect(try await store.logs(of: task.id, from: 3, limit: 1).map(\.index) == [3])

      try await store.commit([.logTrimmed(task.id, before: 2)])
      #expect(try await store.logs(of: task.id, from: 0, limit: 100).map(\.index) == [2, 3, 4])

      try await store.commit([.taskDeleted(task.id)])
      #expect(try await store.task(task.id) == nil)
      #expect(try await store.logs(of: task.id, from: 0, limit: 100).isEmpty)
      #expect(try await store.logs(of: other.id, from: 0, limit: 100).count == 1)
    }
  }

  @Test("nodes are saved, replaced and deleted", arguments: StoreKind.allCases)
  func nodes(kind: StoreKind) async throws {
    try await kind.withStore { store, reopen in
      let a = Fixtures.node("a")
      var b = Fixtures.node("b", status: .disconnected)
      try await store.commit([.nodeSaved(b), .nodeSaved(a)])
      b.status = .active
      b.cordoned = false
      b.drainDeadline = nil
      try await store.commit([.nodeSaved(b)])
      let store = try await reopen()
      #expect(try await store.nodes() == [a, b])
      try await store.commit([.nodeDeleted(a.id)])
      #expect(try await store.nodes() == [b])
    }
  }

  @Test(
    "tokens and secrets are saved, replaced and deleted by kind and ID, and left out of exports",
    arguments: StoreKind.allCases
  )
  func keyedRecords(kind: StoreKind) async throws {
    try await kind.withStore { store, reopen in
      let token = KeyedRecord(kind: .token, id: "t1", body: Data([1, 2]))
      let secret = KeyedRecord(kind: .secret, id: "t1", body: Data([3]))
      try await store.commit([.recordSaved(token), .recordSaved(secret)])
      var replaced = secret
      replaced.body = Data([4, 5, 6])
      try await store.commit([.recordSaved(replaced), .nodeSaved(Fixtures.node("n1"))])
      let store = try await reopen()
      #expect(try await store.records(.token) == [token])
      #expect(try await store.records(.secret) == [replaced])
      var exported = 0
      try await store.export { _ in exported += 1 }
      #expect(exported == 1)
      try await store.commit([.recordDeleted(.token, id: "t1")])
      #expect(try await store.records(.token).isEmpty)
      #expect(try await store.records(.secret) == [replaced])
    }
  }

  @Test("export writes nodes, then each task followed by its output", arguments: StoreKind.allCases)
  func export(kind: StoreKind) async throws {
    try await kind.withStore { store, _ in
      let task = Fixtures.task(1)
      try await store.commit([
        .nodeSaved(Fixtures.node("n1")), .taskCreated(task), .taskCreated(Fixtures.task(2)),
        .logAppended(Fixtures.chunk(task.id, index: 0, text: "hello\n")),
      ])
      var kinds: [String] = []
      try await store.export { record in
        switch record {
        case .node(let node): kinds.append("node \(node.id)")
        case .task(let task): kinds.append("task \(task.spec.name)")
        case .log(let log): kinds.append("log \(log.index)")
        }
      }
      #expect(kinds == ["node n1", "task task-1", "log 0", "task task-2"])
    }
  }
}

@Suite("SQLite store")
struct SQLiteStoreTests {
  @Test("a second orchestrator cannot open a database in use, and can once it is closed")
  func exclusive() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-lock-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("orchion.db").path
    let first = try SQLiteStore.open(path: path)
    let error = #expect(throws: OrchionError.self) { try SQLiteStore.open(path: path) }
    #expect(error?.code == .failedPrecondition)
    #expect(error?.message.contains("another orchestrator") == true)
    await first.close()
    // Other tests in this process fork; a child holds a copy of the lock's descriptor for the
    // moment until it execs or closes it, so the release may take a moment to show.
    var second: SQLiteStore?
    for _ in 0..<100 where second == nil {
      second = try? SQLiteStore.open(path: path)
      if second == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    #expect(second != nil)
    await second?.close()
  }

  @Test("the database is in WAL mode with synchronous FULL, readable by its owner only")
  func durabilitySettings() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-wal-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore.open(path: directory.appendingPathComponent("orchion.db").path)
    let settings = try await store.pragmas()
    #expect(settings.journalMode == "wal")
    #expect(settings.synchronous == 2)  // FULL
    try await store.commit([.taskCreated(Fixtures.task(1))])
    // Only the owner may read the state: the database and its WAL are 0600.
    for file in ["orchion.db", "orchion.db-wal"] {
      let attributes = try FileManager.default.attributesOfItem(
        atPath: directory.appendingPathComponent(file).path
      )
      #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
    }
    await store.close()
  }
}
