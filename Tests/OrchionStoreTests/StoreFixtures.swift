import Foundation
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// The stores the contract suite runs against. Each test gets a fresh, empty store.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
  var testDescription: String { rawValue }

  case sqliteFile
  case sqliteMemory
  case postgres

  /// Opens a fresh store, runs `body` with it and a way to reopen the same state as a new
  /// process would, and closes everything.
  func withStore(
    _ body: (any Store, _ reopen: () async throws -> any Store) async throws -> Void
  ) async throws {
    switch self {
    case .sqliteFile:
      let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("orchion-store-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: directory) }
      let path = directory.appendingPathComponent("orchion.db").path
      var current: any Store = try SQLiteStore.open(path: path)
      try await body(current) {
        await current.close()
        current = try SQLiteStore.open(path: path)
        return current
      }
      await current.close()
    case .sqliteMemory:
      let store = try SQLiteStore.inMemory()
      try await body(store) { store }
      await store.close()
    case .postgres:
      try await TestPostgres.withDatabase { url in
        let location = try PostgresURL(parsing: url)
        var current: any Store = try await PostgresStore.connect(location)
        try await body(current) {
          await current.close()
          current = try await PostgresStore.connect(location)
          return current
        }
        await current.close()
      }
    }
  }

  /// Whether reopening shows what was committed before (false for memory).
  var persists: Bool { self != .sqliteMemory }
}

enum Fixtures {
  static let start = UTCInstant(nanosecondsSinceEpoch: 1_790_000_000_000_000_000)

  /// A task created `offset` milliseconds after ``start``, with every field a store must keep.
  static func task(_ offset: Int64, state: TaskState = .pending, node: String? = nil)
    -> TaskRecord
  {
    let created = UTCInstant(
      nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + offset * 1_000_000
    )
    var task = TaskRecord(
      id: TaskID(createdAt: created, sequence: UInt32(offset)),
      spec: TaskSpec(
        name: "task-\(offset)",
        command: ["sh", "-c", "echo \(offset)"],
        environment: ["K": "v"],
        workingDirectory: "/tmp",
        resources: Resources(cpuMillis: 500, memoryBytes: 1 << 20, gpus: 1, extended: ["lic": 2]),
        nodeSelector: ["zone": "a"],
        timeout: .seconds(90),
        maxAttempts: 3,
        priority: 70,
        strategy: .spread,
        constraints: [.isIn(key: "arch", values: ["amd64", "arm64"]), .absent(key: "spot")],
        preemptible: true,
        retry: RetryPolicy(exitCodes: [2, 3], backoff: .seconds(2), maxBackoff: .seconds(60)),
        surviveDisconnect: true
      ),
      createdAt: created
    )
    task.state = state
    if let node {
      let nodeID = try! NodeID(validating: node)
      let attemptID = try! AttemptID(validating: "a\(offset)")
      task.nodeID = nodeID
      task.attempt = 1
      task.attemptID = attemptID
      task.attempts = [AttemptRecord(number: 1, id: attemptID, node: nodeID, assignedAt: created)]
    }
    return task
  }

  static func node(_ id: String, status: NodeStatus = .active) -> Node {
    var node = Node(
      id: try! NodeID(validating: id),
      address: "10.0.0.1:7000",
      metadata: ["os": "linux"],
      labels: ["zone": "a"],
      status: status,
      registeredAt: start,
      lastHeartbeat: start,
      statusChangedAt: start,
      resources: Resources(cpuMillis: 4000, memoryBytes: 8 << 30, gpus: 0, extended: [:]),
      slots: 4
    )
    node.cordoned = true
    node.drainDeadline = UTCInstant(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 1)
    return node
  }

  static func chunk(_ task: TaskID, index: Int64, text: String) -> StoredLogEntry {
    StoredLogEntry(
      task: task,
      index: index,
      attempt: try! AttemptID(validating: "a1"),
      chunk: LogChunk(
        task: task,
        attempt: 1,
        stream: .stdout,
        sequence: index,
        data: Data(text.utf8)
      )
    )
  }
}
