import GRDB

/// The SQLite schema, as versioned migrations: a database written by an older Orchion is
/// brought up to date on open; migrations are only ever appended.
enum SQLiteSchema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1: tasks, nodes, logs") { db in
      // Records are binary protobuf (orchion.v1.Stored*); the columns beside them are what
      // queries filter and sort by.
      try db.execute(
        sql: """
          CREATE TABLE tasks (
            id TEXT PRIMARY KEY NOT NULL,
            state INTEGER NOT NULL,
            node_id TEXT,
            record BLOB NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX tasks_by_state ON tasks (state, id);
          CREATE INDEX tasks_by_node ON tasks (node_id, id);
          CREATE TABLE nodes (
            id TEXT PRIMARY KEY NOT NULL,
            record BLOB NOT NULL
          ) WITHOUT ROWID;
          CREATE TABLE logs (
            task_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            record BLOB NOT NULL,
            PRIMARY KEY (task_id, idx)
          ) WITHOUT ROWID;
          """
      )
    }
    migrator.registerMigration("v2: tokens and secrets") { db in
      try db.execute(
        sql: """
          CREATE TABLE keyed_records (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            record BLOB NOT NULL,
            PRIMARY KEY (kind, id)
          ) WITHOUT ROWID;
          """
      )
    }
    return migrator
  }
}
