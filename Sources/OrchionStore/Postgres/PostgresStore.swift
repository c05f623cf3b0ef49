import Foundation
public import Logging
import NIOCore
import OrchionAPI
public import OrchionCore
import OrchionWire
import PostgresNIO
import SwiftProtobuf
import Synchronization

/// The shared store: a PostgreSQL database that several orchestrators use at once, one of them
/// leading (see ``LeaderLease``).
///
/// Durability is PostgreSQL's: a commit returns once the database has flushed its WAL
/// (`synchronous_commit = on`, the default, which this store does not change). Connections are
/// pooled and re-established when the database restarts; a commit that fails because the
/// database is away fails whole and is retried by the orchestrator's journal.
///
/// When a fencing token is set (``fence(with:)``), every commit first takes a share lock on the
/// leader row *with that token*: a commit from an orchestrator that lost the lease finds no
/// such row and fails; and a takeover, which must update that row, waits for commits in flight.
/// So every write that lands was made while its writer held the lease.
public final class PostgresStore: Store {
  private let client: PostgresClient
  private let runner: Task<Void, Never>
  let logger: Logger
  /// The fencing token and how long (ms) a fenced transaction may sit idle.
  private let fenceToken = Mutex<(token: Int64, holdMilliseconds: Int64)?>(nil)

  private init(client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
    self.client = client
    self.runner = runner
    self.logger = logger
  }

  /// Connects, and brings the schema up to date.
  /// - Throws: `storeUnavailable` when the database cannot be reached or migrated.
  public static func connect(
    _ url: PostgresURL,
    logger: Logger = Logger(label: "orchion.store", factory: { _ in SwiftLogNoOpLogHandler() })
  ) async throws(OrchionError) -> PostgresStore {
    let tls = try url.tlsSettings()
    // One connection first, on its own: the pool retries a failing connection for ever and
    // tells its waiters nothing, so a refused certificate, a server without TLS under
    // sslmode=require or a wrong password would surface only as "no answer". This one fails
    // with the reason.
    try await probe(url, tls: tls, logger: logger)
    var configuration = PostgresClient.Configuration(
      host: url.host,
      port: url.port,
      username: url.user,
      password: url.password,
      database: url.database,
      tls: tls.client
    )
    configuration.options.maximumConnections = 8
    configuration.options.connectTimeout = .seconds(5)
    // Server-side bounds, because a statement blocked on a lock does not end when its task is
    // cancelled: a lease statement must fail in time rather than wait on a frozen holder.
    configuration.options.additionalStartupParameters = [
      ("lock_timeout", "2s"), ("statement_timeout", "30s"),
    ]
    let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    let runner = Task { await client.run() }
    let store = PostgresStore(client: client, runner: runner, logger: logger)
    do {
      // The pool retries connecting for ever; a database that does not answer at start is an
      // error the operator should see.
      try await Deadline.run(within: .seconds(10), "connect and migrate") {
        try await store.migrate()
      }
    } catch {
      await store.close()
      throw .storeUnavailable("PostgreSQL at \(url.redacted): \(Self.describe(error))")
    }
    return store
  }

  /// Opens and closes one connection with the store's settings.
  /// - Throws: `storeUnavailable` with the reason it failed.
  private static func probe(
    _ url: PostgresURL,
    tls: PostgresURL.TLSSettings,
    logger: Logger
  ) async throws(OrchionError) {
    do {
      try await Deadline.run(within: .seconds(10), "connect") {
        let connection = try await PostgresConnection.connect(
          configuration: .init(
            host: url.host,
            port: url.port,
            username: url.user,
            password: url.password,
            database: url.database,
            tls: try tls.connection()
          ),
          id: 0,
          logger: logger
        )
        try await connection.close()
      }
    } catch {
      throw .storeUnavailable("PostgreSQL at \(url.redacted): \(Self.describe(error))")
    }
  }

  /// Checks every later commit against the leader lease's fencing `token` (`nil`: no check).
  ///
  /// A fenced commit holds a share lock on the lease row until it ends, and a takeover must
  /// wait for it; so that a leader frozen *inside* a commit cannot hold the takeover off, each
  /// fenced transaction tells the server to end the session if it sits idle for `holdLimit`
  /// (`idle_in_transaction_session_timeout`): the frozen leader's commit is aborted, its lock
  /// released, and the next leader proceeds.
  public func fence(with token: Int64?, holdLimit: Duration = .seconds(1)) {
    let milliseconds = max(
      100,
      holdLimit.components.seconds * 1000 + holdLimit.components.attoseconds / 1_000_000_000_000_000
    )
    fenceToken.withLock { $0 = token.map { ($0, milliseconds) } }
  }

  /// The underlying client, for the leader lease (same pool, same database).
  var connections: PostgresClient { client }

  private func migrate() async throws {
    try await client.withTransaction(logger: logger) { connection in
      try await connection.query(
        "SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))",
        logger: logger
      )
      try await connection.query(
        """
        CREATE TABLE IF NOT EXISTS orchion_schema (
          version INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        logger: logger
      )
      var applied = Set<Int32>()
      for try await version in try await connection.query(
        "SELECT version FROM orchion_schema",
        logger: logger
      ).decode(Int32.self) {
        applied.insert(version)
      }
      for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
        for statement in migration.statements {
          try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await connection.query(
          "INSERT INTO orchion_schema (version, name) VALUES (\(migration.version), \(migration.name))",
          logger: logger
        )
      }
    }
  }

  // MARK: Writes

  public func commit(_ changes: [StateChange]) async throws(OrchionError) {
    guard !changes.isEmpty else { return }
    let set = ChangeSet(changes)
    let rows = try EncodedChanges(set)
    let fence = fenceToken.withLock { $0 }
    try await run("commit") { [client, logger] in
      try await client.withTransaction(logger: logger) { connection in
        if let (token, holdMilliseconds) = fence {
          try await connection.query(
            PostgresQuery(
              unsafeSQL: "SET LOCAL idle_in_transaction_session_timeout = \(holdMilliseconds)"
            ),
            logger: logger
          )
          let held = try await connection.query(
            "SELECT token FROM orchion_leader WHERE id = 1 AND token = \(token) FOR SHARE",
            logger: logger
          ).collect()
          guard !held.isEmpty else { throw LeaseLost() }
        }
        try await rows.apply(on: connection, logger: logger)
      }
    }
  }

  // MARK: Reads

  public func loadTasks() async throws(OrchionError) -> [TaskRecord] {
    try await records("load tasks", "SELECT record FROM orchion_tasks ORDER BY id")
      .map { data throws(OrchionError) in try StoredBytes.task(data) }
  }

  public func task(_ id: TaskID) async throws(OrchionError) -> TaskRecord? {
    try await records("read a task", "SELECT record FROM orchion_tasks WHERE id = \(id.rawValue)")
      .first.map { data throws(OrchionError) in try StoredBytes.task(data) }
  }

  public func tasks(_ query: TaskQuery) async throws(OrchionError) -> TaskPage {
    let state = query.state.map { Int32(Orchion_V1_TaskState($0).rawValue) }
    let limit = max(query.pageSize, 0)
    let blobs = try await records(
      "list tasks",
      """
      SELECT record FROM orchion_tasks
      WHERE (\(state)::INTEGER IS NULL OR state = \(state))
        AND (\(query.node?.rawValue)::TEXT IS NULL OR node_id = \(query.node?.rawValue))
        AND (\(query.after?.rawValue)::TEXT IS NULL OR id < \(query.after?.rawValue))
      ORDER BY id DESC LIMIT \(limit + 1)
      """
    )
    let tasks = try blobs.prefix(limit).map { data throws(OrchionError) in
      try StoredBytes.task(data)
    }
    return TaskPage(tasks: tasks, next: blobs.count > limit ? tasks.last?.id : nil)
  }

  public func nodes() async throws(OrchionError) -> [Node] {
    try await records("read nodes", "SELECT record FROM orchion_nodes ORDER BY id")
      .map { data throws(OrchionError) in try StoredBytes.node(data) }
  }

  public func records(_ kind: RecordKind) async throws(OrchionError) -> [KeyedRecord] {
    try await run("read \(kind.rawValue)s") { [client, logger] in
      var records: [KeyedRecord] = []
      for try await (id, body) in try await client.query(
        "SELECT id, record FROM orchion_keyed_records WHERE kind = \(kind.rawValue) ORDER BY id",
        logger: logger
      ).decode((String, ByteBuffer).self) {
        records.append(KeyedRecord(kind: kind, id: id, body: Data(body.readableBytesView)))
      }
      return records
    }
  }

  public func logs(of task: TaskID, from index: Int64, limit: Int) async throws(OrchionError)
    -> [StoredLogEntry]
  {
    try await records(
      "read output",
      """
      SELECT record FROM orchion_logs WHERE task_id = \(task.rawValue) AND idx >= \(index)
      ORDER BY idx LIMIT \(limit)
      """
    ).map { data throws(OrchionError) in try StoredBytes.log(data) }
  }

  public func export(_ emit: (ExportedRecord) throws -> Void) async throws {
    // One REPEATABLE READ transaction: a consistent snapshot while the leader writes.
    try await client.withConnection { connection in
      try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
      do {
        try await exportSnapshot(on: connection, emit)
      } catch {
        _ = try? await connection.query("ROLLBACK", logger: logger)
        throw error
      }
      try await connection.query("ROLLBACK", logger: logger)
    }
  }

  nonisolated(nonsending) private func exportSnapshot(
    on connection: PostgresConnection,
    _ emit: (ExportedRecord) throws -> Void
  ) async throws {
    for try await record in try await connection.query(
      "SELECT record FROM orchion_nodes ORDER BY id",
      logger: logger
    ).decode(ByteBuffer.self) {
      try emit(.node(try StoredBytes.node(Data(record.readableBytesView))))
    }
    var tasks: [(String, ByteBuffer)] = []
    for try await row in try await connection.query(
      "SELECT id, record FROM orchion_tasks ORDER BY id",
      logger: logger
    ).decode((String, ByteBuffer).self) {
      tasks.append(row)
    }
    for (id, record) in tasks {
      try emit(.task(try StoredBytes.task(Data(record.readableBytesView))))
      for try await chunk in try await connection.query(
        "SELECT record FROM orchion_logs WHERE task_id = \(id) ORDER BY idx",
        logger: logger
      ).decode(ByteBuffer.self) {
        try emit(.log(try StoredBytes.log(Data(chunk.readableBytesView))))
      }
    }
  }

  public func close() async {
    runner.cancel()
    _ = await runner.value
  }

  // MARK: Helpers

  private func records(_ what: String, _ query: PostgresQuery) async throws(OrchionError) -> [Data]
  {
    try await run(what) { [client, logger] in
      var blobs: [Data] = []
      for try await record in try await client.query(query, logger: logger).decode(
        ByteBuffer.self
      ) {
        blobs.append(Data(record.readableBytesView))
      }
      return blobs
    }
  }

  /// Runs one database call, given up on when the calling task is cancelled: a query blocked
  /// in the server (on a lock) or on a connection that stopped answering must not hold a
  /// shutdown (a lost lease above all) past its grace.
  func run<T: Sendable>(
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
  ) async throws(OrchionError) -> T {
    do {
      return try await Abandonable.run(body)
    } catch is CancellationError {
      throw .storeUnavailable("PostgreSQL: gave up on \(what): cancelled")
    } catch let error as OrchionError {
      throw error
    } catch is LeaseLost {
      throw .leaseLost("this orchestrator no longer holds the leader lease")
    } catch let error as PostgresTransactionError where error.closureError is LeaseLost {
      throw .leaseLost("this orchestrator no longer holds the leader lease")
    } catch {
      throw .storeUnavailable("PostgreSQL: cannot \(what): \(Self.describe(error))")
    }
  }

  /// A database error's message (PSQLError hides it from `description`).
  static func describe(_ error: any Error) -> String {
    if let error = error as? PostgresTransactionError {
      let cause = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError
      return cause.map(describe) ?? "transaction failed"
    }
    if let error = error as? PSQLError {
      if let message = error.serverInfo?[.message] { return message }
      if error.code == .sslUnsupported {
        return "the server does not offer TLS, and sslmode asks for it"
      }
      // A TLS handshake refused (an untrusted certificate, a wrong host name) is the cause.
      if let underlying = error.underlying { return "\(error.code): \(describe(underlying))" }
      return "\(error.code)"
    }
    if let error = error as? OrchionError { return error.message }
    return "\(error)"
  }

  private struct LeaseLost: Error {}
}
