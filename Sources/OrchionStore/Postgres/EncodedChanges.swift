import Foundation
import Logging
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionWire
import PostgresNIO

/// A ``ChangeSet`` encoded as columns, written with one set-based statement per kind of change
/// (`unnest` of arrays) instead of one round trip per row.
struct EncodedChanges: Sendable {
  struct Tasks: Sendable {
    var ids: [String] = []
    var states: [Int32] = []
    /// Empty for none (arrays of optionals do not bind); stored as NULL.
    var nodes: [String] = []
    var records: [ByteBuffer] = []

    init(_ tasks: [TaskRecord]) throws(OrchionError) {
      for task in tasks {
        ids.append(task.id.rawValue)
        states.append(Int32(Orchion_V1_TaskState(task.state).rawValue))
        nodes.append(task.nodeID?.rawValue ?? "")
        records.append(ByteBuffer(bytes: try StoredBytes.encode(task)))
      }
    }
  }

  var created: Tasks
  var changed: Tasks
  var deleted: [String]
  var logTasks: [String] = []
  var logIndexes: [Int64] = []
  var logRecords: [ByteBuffer] = []
  var trimTasks: [String] = []
  var trimBefore: [Int64] = []
  var nodeIDs: [String] = []
  var nodeRecords: [ByteBuffer] = []
  var deletedNodes: [String]
  var keyed: [(kind: String, id: String, body: ByteBuffer?)]

  init(_ set: ChangeSet) throws(OrchionError) {
    created = try Tasks(set.created)
    changed = try Tasks(set.changed)
    deleted = set.deleted.map(\.rawValue)
    for entry in set.logs {
      logTasks.append(entry.task.rawValue)
      logIndexes.append(entry.index)
      logRecords.append(ByteBuffer(bytes: try StoredBytes.encode(entry)))
    }
    for (task, before) in set.trims {
      trimTasks.append(task.rawValue)
      trimBefore.append(before)
    }
    for node in set.savedNodes {
      nodeIDs.append(node.id.rawValue)
      nodeRecords.append(ByteBuffer(bytes: try StoredBytes.encode(node)))
    }
    deletedNodes = set.deletedNodes.map(\.rawValue)
    keyed = set.keyed.map { ($0.kind.rawValue, $0.id, $0.body.map { ByteBuffer(bytes: $0) }) }
  }

  /// Writes everything, in an order that gives each row its last value: rows first, then trims,
  /// then deletions.
  func apply(on connection: PostgresConnection, logger: Logger) async throws {
    if !created.ids.isEmpty {
      // A plain INSERT: creating a task that exists is a bug, and fails the whole commit.
      try await connection.query(
        """
        INSERT INTO orchion_tasks (id, state, node_id, record)
        SELECT id, state, NULLIF(node_id, ''), record
        FROM unnest(\(created.ids)::TEXT[], \(created.states)::INTEGER[], \(created.nodes)::TEXT[],
                    \(created.records)::BYTEA[]) AS t(id, state, node_id, record)
        """,
        logger: logger
      )
    }
    if !changed.ids.isEmpty {
      try await connection.query(
        """
        INSERT INTO orchion_tasks (id, state, node_id, record)
        SELECT id, state, NULLIF(node_id, ''), record
        FROM unnest(\(changed.ids)::TEXT[], \(changed.states)::INTEGER[], \(changed.nodes)::TEXT[],
                    \(changed.records)::BYTEA[]) AS t(id, state, node_id, record)
        ON CONFLICT (id) DO UPDATE SET
          state = excluded.state, node_id = excluded.node_id, record = excluded.record
        """,
        logger: logger
      )
    }
    if !logTasks.isEmpty {
      try await connection.query(
        """
        INSERT INTO orchion_logs (task_id, idx, record)
        SELECT * FROM unnest(\(logTasks)::TEXT[], \(logIndexes)::BIGINT[], \(logRecords)::BYTEA[])
        ON CONFLICT (task_id, idx) DO UPDATE SET record = excluded.record
        """,
        logger: logger
      )
    }
    if !trimTasks.isEmpty {
      try await connection.query(
        """
        DELETE FROM orchion_logs l
        USING unnest(\(trimTasks)::TEXT[], \(trimBefore)::BIGINT[]) AS t(task_id, before)
        WHERE l.task_id = t.task_id AND l.idx < t.before
        """,
        logger: logger
      )
    }
    if !deleted.isEmpty {
      try await connection.query(
        "DELETE FROM orchion_tasks WHERE id = ANY(\(deleted)::TEXT[])",
        logger: logger
      )
      try await connection.query(
        "DELETE FROM orchion_logs WHERE task_id = ANY(\(deleted)::TEXT[])",
        logger: logger
      )
    }
    if !nodeIDs.isEmpty {
      try await connection.query(
        """
        INSERT INTO orchion_nodes (id, record)
        SELECT * FROM unnest(\(nodeIDs)::TEXT[], \(nodeRecords)::BYTEA[])
        ON CONFLICT (id) DO UPDATE SET record = excluded.record
        """,
        logger: logger
      )
    }
    if !deletedNodes.isEmpty {
      try await connection.query(
        "DELETE FROM orchion_nodes WHERE id = ANY(\(deletedNodes)::TEXT[])",
        logger: logger
      )
    }
    // Each key appears once (ChangeSet), so saves and deletes can go as two statements.
    let saved = keyed.compactMap { entry in entry.body.map { (entry.kind, entry.id, $0) } }
    if !saved.isEmpty {
      let kinds = saved.map(\.0)
      let ids = saved.map(\.1)
      let bodies = saved.map(\.2)
      try await connection.query(
        """
        INSERT INTO orchion_keyed_records (kind, id, record)
        SELECT * FROM unnest(\(kinds)::TEXT[], \(ids)::TEXT[], \(bodies)::BYTEA[])
        ON CONFLICT (kind, id) DO UPDATE SET record = excluded.record
        """,
        logger: logger
      )
    }
    let deleted = keyed.filter { $0.body == nil }
    if !deleted.isEmpty {
      let kinds = deleted.map(\.kind)
      let ids = deleted.map(\.id)
      try await connection.query(
        """
        DELETE FROM orchion_keyed_records AS r
        USING unnest(\(kinds)::TEXT[], \(ids)::TEXT[]) AS d(kind, id)
        WHERE r.kind = d.kind AND r.id = d.id
        """,
        logger: logger
      )
    }
  }
}
