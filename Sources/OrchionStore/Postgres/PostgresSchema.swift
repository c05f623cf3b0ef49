/// The PostgreSQL schema as numbered migrations, applied in order under an advisory lock so
/// several orchestrators starting at once apply each exactly once. Only ever appended to.
enum PostgresSchema {
  /// The advisory lock key that serialises migrations (arbitrary, fixed: "orch" in ASCII).
  static let migrationLock: Int64 = 0x6F72_6368

  static let migrations: [(version: Int32, name: String, statements: [String])] = [
    (
      1, "tasks, nodes, logs, leader lease",
      [
        """
        CREATE TABLE orchion_tasks (
          id TEXT PRIMARY KEY,
          state INTEGER NOT NULL,
          node_id TEXT,
          record BYTEA NOT NULL
        )
        """,
        "CREATE INDEX orchion_tasks_by_state ON orchion_tasks (state, id)",
        "CREATE INDEX orchion_tasks_by_node ON orchion_tasks (node_id, id)",
        "CREATE TABLE orchion_nodes (id TEXT PRIMARY KEY, record BYTEA NOT NULL)",
        """
        CREATE TABLE orchion_logs (
          task_id TEXT NOT NULL,
          idx BIGINT NOT NULL,
          record BYTEA NOT NULL,
          PRIMARY KEY (task_id, idx)
        )
        """,
        // One row: who leads, until when (database time), and the fencing token every write
        // of the leader is checked against.
        """
        CREATE TABLE orchion_leader (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          holder TEXT NOT NULL,
          address TEXT NOT NULL,
          token BIGINT NOT NULL,
          expires_at TIMESTAMPTZ NOT NULL
        )
        """,
      ]
    ),
    (
      2, "tokens and secrets",
      [
        """
        CREATE TABLE orchion_keyed_records (
          kind TEXT NOT NULL,
          id TEXT NOT NULL,
          record BYTEA NOT NULL,
          PRIMARY KEY (kind, id)
        )
        """
      ]
    ),
  ]
}
