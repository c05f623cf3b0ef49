import Foundation
import GRDB
import OrchionAPI
public import OrchionCore
import OrchionWire
import SwiftProtobuf

/// The embedded store: one SQLite file in the data directory, nothing to install.
///
/// Durability: the database is in WAL mode with `synchronous = FULL`, so every commit appends
/// to the write-ahead log and fsyncs it before ``commit(_:)`` returns. A kill -9 loses nothing
/// committed (the WAL is in the file system, replayed on open) and neither does a power loss
/// (the fsync put it on the disk). `NORMAL` would skip that fsync and could lose the last
/// commits on power loss — commits the orchestrator had already acknowledged.
///
/// Concurrent submissions are committed together by the orchestrator's journal, so the cost of
/// one fsync is shared by every change waiting for it.
public final class SQLiteStore: Store {
  private let writer: any DatabaseWriter
  private let lock: FileLock?

  private init(writer: any DatabaseWriter, lock: FileLock?, migrate: Bool = true)
    throws(OrchionError)
  {
    self.writer = writer
    self.lock = lock
    guard migrate else { return }
    do {
      try SQLiteSchema.migrator.migrate(writer)
    } catch {
      throw .storeUnavailable("SQLite: cannot migrate the database: \(error)")
    }
  }

  /// Opens (creating if needed) the database at `path`.
  ///
  /// Only one orchestrator may use a database file: a second one is refused, because two
  /// leaders over one state would each assign the other's tasks.
  /// - Throws: `failedPrecondition` when another process holds the file; `storeUnavailable` when it
  ///   cannot be opened.
  public static func open(path: String) throws(OrchionError) -> SQLiteStore {
    let lock = try FileLock.acquire(path: path + ".lock", purpose: "the database \(path)")
    // Task specs carry commands and environments: only the owner may read them. SQLite gives
    // its -wal and -shm files the database file's mode, so creating that one 0600 is enough.
    try FileLock.createPrivately(path)
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    do {
      let pool = try DatabasePool(path: path, configuration: configuration)
      // Set on the writer, after the pool opened: GRDB's DatabasePool turns WAL on for the
      // writer *after* `prepareDatabase` ran and sets `synchronous = NORMAL` with it
      // (Database.setUpWALMode), which would skip the WAL fsync at each commit. Only the
      // writer commits, so its setting is the one durability rests on.
      try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
      }
      return try SQLiteStore(writer: pool, lock: lock)
    } catch let error as OrchionError {
      throw error
    } catch {
      throw .storeUnavailable("SQLite: cannot open \(path): \(error)")
    }
  }

  /// Opens a database for reading only, alongside the orchestrator that owns it (WAL lets a
  /// reader see a consistent snapshot while the owner writes): for `orchion admin export`.
  /// - Throws: `storeUnavailable` when it cannot be opened (e.g. it does not exist).
  public static func openReadOnly(path: String) throws(OrchionError) -> SQLiteStore {
    var configuration = Configuration()
    configuration.readonly = true
    configuration.busyMode = .timeout(10)
    do {
      return try SQLiteStore(
        writer: try DatabasePool(path: path, configuration: configuration),
        lock: nil,
        migrate: false
      )
    } catch let error as OrchionError {
      throw error
    } catch {
      throw .storeUnavailable("SQLite: cannot open \(path) for reading: \(error)")
    }
  }

  /// A database that lives in memory only: real SQLite, nothing on disk (for tests and
  /// throwaway clusters).
  public static func inMemory() throws(OrchionError) -> SQLiteStore {
    do {
      return try SQLiteStore(writer: try DatabaseQueue(), lock: nil)
    } catch let error as OrchionError {
      throw error
    } catch {
      throw .storeUnavailable("SQLite: cannot create an in-memory database: \(error)")
    }
  }

  public func commit(_ changes: [StateChange]) async throws(OrchionError) {
    guard !changes.isEmpty else { return }
    let rows = try changes.map(Change.init)
    try await run("commit") { [writer] in
      try await writer.write { db in
        for row in rows { try row.apply(to: db) }
      }
    }
  }

  public func records(_ kind: RecordKind) async throws(OrchionError) -> [KeyedRecord] {
    let rows = try await run("read \(kind.rawValue)s") { [writer] in
      try await writer.read { db in
        try Row.fetchAll(
          db,
          sql: "SELECT id, record FROM keyed_records WHERE kind = ? ORDER BY id",
          arguments: [kind.rawValue]
        ).map { row -> (String, Data) in (row[0], row[1]) }
      }
    }
    return rows.map { KeyedRecord(kind: kind, id: $0.0, body: $0.1) }
  }

  public func loadTasks() async throws(OrchionError) -> [TaskRecord] {
    let blobs = try await run("load tasks") { [writer] in
      try await writer.read { db in
        try Data.fetchAll(db, sql: "SELECT record FROM tasks ORDER BY id")
      }
    }
    return try blobs.map { data throws(OrchionError) in try StoredBytes.task(data) }
  }

  public func task(_ id: TaskID) async throws(OrchionError) -> TaskRecord? {
    let blob = try await run("read a task") { [writer] in
      try await writer.read { db in
        try Data.fetchOne(
          db,
          sql: "SELECT record FROM tasks WHERE id = ?",
          arguments: [id.rawValue]
        )
      }
    }
    return try blob.map { data throws(OrchionError) in try StoredBytes.task(data) }
  }

  public func tasks(_ query: TaskQuery) async throws(OrchionError) -> TaskPage {
    let state = query.state.map { Orchion_V1_TaskState($0).rawValue }
    let limit = max(query.pageSize, 0)
    let blobs = try await run("list tasks") { [writer] in
      try await writer.read { db in
        try Data.fetchAll(
          db,
          sql: """
            SELECT record FROM tasks
            WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR node_id = ?2)
              AND (?3 IS NULL OR id < ?3)
            ORDER BY id DESC LIMIT ?4
            """,
          arguments: [state, query.node?.rawValue, query.after?.rawValue, limit + 1]
        )
      }
    }
    let tasks = try blobs.prefix(limit).map { data throws(OrchionError) in
      try StoredBytes.task(data)
    }
    return TaskPage(tasks: tasks, next: blobs.count > limit ? tasks.last?.id : nil)
  }

  public func nodes() async throws(OrchionError) -> [Node] {
    let blobs = try await run("read nodes") { [writer] in
      try await writer.read { db in
        try Data.fetchAll(db, sql: "SELECT record FROM nodes ORDER BY id")
      }
    }
    return try blobs.map { data throws(OrchionError) in try StoredBytes.node(data) }
  }

  public func logs(of task: TaskID, from index: Int64, limit: Int) async throws(OrchionError)
    -> [StoredLogEntry]
  {
    let blobs = try await run("read output") { [writer] in
      try await writer.read { db in
        try Data.fetchAll(
          db,
          sql: "SELECT record FROM logs WHERE task_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
          arguments: [task.rawValue, index, limit]
        )
      }
    }
    return try blobs.map { data throws(OrchionError) in try StoredBytes.log(data) }
  }

  public func export(_ emit: (ExportedRecord) throws -> Void) async throws {
    // One read transaction: a consistent snapshot even while the orchestrator writes (WAL).
    let (nodes, tasks) = try await writer.read { db in
      (
        try Data.fetchAll(db, sql: "SELECT record FROM nodes ORDER BY id"),
        try Row.fetchAll(db, sql: "SELECT id, record FROM tasks ORDER BY id").map {
          (id: $0["id"] as String, record: $0["record"] as Data)
        }
      )
    }
    for node in nodes {
      try emit(.node(try StoredBytes.node(node)))
    }
    for task in tasks {
      try emit(.task(try StoredBytes.task(task.record)))
      let chunks = try await writer.read { db in
        try Data.fetchAll(
          db,
          sql: "SELECT record FROM logs WHERE task_id = ? ORDER BY idx",
          arguments: [task.id]
        )
      }
      for chunk in chunks { try emit(.log(try StoredBytes.log(chunk))) }
    }
  }

  /// The journal mode and synchronous level in effect on the connection that commits (2 is
  /// FULL): what durability rests on. Read on the writer, not a reader: each connection has
  /// its own `synchronous`, and a reader's says nothing about how commits are synced.
  public func pragmas() async throws(OrchionError) -> (journalMode: String, synchronous: Int) {
    try await run("read settings") { [writer] in
      try await writer.writeWithoutTransaction { db in
        (
          try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
          try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        )
      }
    }
  }

  public func close() async {
    try? writer.close()
    lock?.release()
  }

  private func run<T: Sendable>(
    _ what: String,
    _ body: @Sendable () async throws -> T
  ) async throws(OrchionError) -> T {
    do {
      return try await body()
    } catch let error as OrchionError {
      throw error
    } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
      // A typed outcome the journal acts on: waiters are told at once instead of waiting for
      // space that may never come.
      throw .storeFull("disk full: SQLite cannot \(what): \(error.message ?? "\(error)")")
    } catch {
      throw .storeUnavailable("SQLite: cannot \(what): \(error)")
    }
  }
}

extension SQLiteStore {
  /// A change, encoded before the write transaction starts so the writer holds it briefly.
  private enum Change: Sendable {
    case upsertTask(id: String, state: Int, node: String?, record: Data, create: Bool)
    case deleteTask(id: String)
    case insertLog(task: String, index: Int64, record: Data)
    case trimLog(task: String, before: Int64)
    case upsertNode(id: String, record: Data)
    case deleteNode(id: String)
    case upsertRecord(kind: String, id: String, record: Data)
    case deleteRecord(kind: String, id: String)

    init(_ change: StateChange) throws(OrchionError) {
      switch change {
      case .taskCreated(let task), .taskChanged(let task):
        var create = false
        if case .taskCreated = change { create = true }
        self = .upsertTask(
          id: task.id.rawValue,
          state: Orchion_V1_TaskState(task.state).rawValue,
          node: task.nodeID?.rawValue,
          record: try StoredBytes.encode(task),
          create: create
        )
      case .taskDeleted(let id):
        self = .deleteTask(id: id.rawValue)
      case .logAppended(let entry):
        self = .insertLog(
          task: entry.task.rawValue,
          index: entry.index,
          record: try StoredBytes.encode(entry)
        )
      case .logTrimmed(let task, let before):
        self = .trimLog(task: task.rawValue, before: before)
      case .nodeSaved(let node):
        self = .upsertNode(id: node.id.rawValue, record: try StoredBytes.encode(node))
      case .nodeDeleted(let id):
        self = .deleteNode(id: id.rawValue)
      case .recordSaved(let record):
        self = .upsertRecord(kind: record.kind.rawValue, id: record.id, record: record.body)
      case .recordDeleted(let kind, let id):
        self = .deleteRecord(kind: kind.rawValue, id: id)
      }
    }

    func apply(to db: Database) throws {
      switch self {
      case .upsertTask(let id, let state, let node, let record, let create):
        // A task is created once: a second create of one ID is a bug, not an update.
        let sql =
          create
          ? "INSERT INTO tasks (id, state, node_id, record) VALUES (?, ?, ?, ?)"
          : """
          INSERT INTO tasks (id, state, node_id, record) VALUES (?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET
            state = excluded.state, node_id = excluded.node_id, record = excluded.record
          """
        try db.cachedStatement(sql: sql).execute(arguments: [id, state, node, record])
      case .deleteTask(let id):
        try db.cachedStatement(sql: "DELETE FROM tasks WHERE id = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM logs WHERE task_id = ?").execute(arguments: [id])
      case .insertLog(let task, let index, let record):
        try db.cachedStatement(
          sql: "INSERT OR REPLACE INTO logs (task_id, idx, record) VALUES (?, ?, ?)"
        ).execute(arguments: [task, index, record])
      case .trimLog(let task, let before):
        try db.cachedStatement(sql: "DELETE FROM logs WHERE task_id = ? AND idx < ?")
          .execute(arguments: [task, before])
      case .upsertNode(let id, let record):
        try db.cachedStatement(
          sql: """
            INSERT INTO nodes (id, record) VALUES (?, ?)
            ON CONFLICT (id) DO UPDATE SET record = excluded.record
            """
        ).execute(arguments: [id, record])
      case .deleteNode(let id):
        try db.cachedStatement(sql: "DELETE FROM nodes WHERE id = ?").execute(arguments: [id])
      case .upsertRecord(let kind, let id, let record):
        try db.cachedStatement(
          sql: "INSERT OR REPLACE INTO keyed_records (kind, id, record) VALUES (?, ?, ?)"
        ).execute(arguments: [kind, id, record])
      case .deleteRecord(let kind, let id):
        try db.cachedStatement(sql: "DELETE FROM keyed_records WHERE kind = ? AND id = ?")
          .execute(arguments: [kind, id])
      }
    }
  }
}
