import Logging
import OrchionAPI
import OrchionCore
import OrchionScheduler
import OrchionStore
import OrchionTestSupport

@testable import OrchionServer

/// A ``Cluster`` over a real in-memory SQLite store and a manual clock, with its journal
/// running while `body` does.
struct ClusterHarness {
  let clock = ManualClock()
  let store: SQLiteStore
  let journal: Journal
  let cluster: OrchionServer.Cluster

  static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  init(nodes: NodeTable.Configuration = .defaults, router: RouterLimits = .defaults) throws {
    store = try SQLiteStore.inMemory()
    journal = Journal(store: store, logger: Self.logger, clock: clock)
    cluster = OrchionServer.Cluster(
      nodes: nodes,
      limits: .init(retainedFinishedTasks: 100, maxLostAttempts: 5),
      router: router,
      clock: clock,
      logs: LogStore(maxBytesPerTask: 1 << 20),
      journal: journal,
      scheduler: StrategyScheduler(strategy: .spread),
      advertisedAddress: { "127.0.0.1:50051" },
      logger: Self.logger
    )
  }

  /// Runs `body` with the journal committing (and performing effects) meanwhile.
  func withJournal<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await journal.run() }
      defer { journal.close() }
      return try await body()
    }
  }

  /// An agent stream, as `Connect` would open it.
  func connect(_ node: NodeID, running: [(task: TaskID, attempt: AttemptID)] = []) -> (
    session: AgentSession, messages: AsyncStream<Orchion_V1_ServerMessage>
  ) {
    let (messages, outbound) = AsyncStream.makeStream(of: Orchion_V1_ServerMessage.self)
    return (cluster.attach(node: node, running: running, outbound: outbound), messages)
  }
}
