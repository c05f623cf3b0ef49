import GRPCCore
public import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf

/// The API for this process's own HTTP side (dashboard, `/metrics`, probes): the handlers the
/// gRPC services run, called directly, so a page shows exactly what `orchion tasks` would —
/// same validation, same errors, same answers from a follower — without a network hop or a
/// credential. Who may do what is the caller's to decide (the dashboard checks its session).
public struct InProcessAPI: Sendable {
  let tasks: TaskServiceHandler
  let nodes: NodeServiceHandler
  let cluster: Cluster
  let leadership: Leadership
  let health: HealthStatusBoard
  let store: any Store
  let serviceNames: [String]

  /// A task's output as the dashboard streams it: each chunk with its position in the task's
  /// log (stable across restarts, so it can be an SSE event ID).
  public struct PositionedChunk: Sendable {
    public var position: Int64
    public var chunk: Orchion_V1_LogChunk
  }

  public func listNodes() async throws -> [Orchion_V1_Node] {
    try await nodes.listNodes(request: .init(), context: Self.context("NodeService", "ListNodes"))
      .nodes
  }

  public func getNode(_ id: String) async throws -> Orchion_V1_Node {
    try await nodes.getNode(
      request: .with { $0.nodeID = id },
      context: Self.context("NodeService", "GetNode")
    ).node
  }

  public func listTasks(_ request: Orchion_V1_ListTasksRequest) async throws
    -> Orchion_V1_ListTasksResponse
  {
    try await tasks.listTasks(request: request, context: Self.context("TaskService", "ListTasks"))
  }

  public func getTask(_ id: String) async throws -> Orchion_V1_Task {
    try await tasks.getTask(
      request: .with { $0.taskID = id },
      context: Self.context("TaskService", "GetTask")
    ).task
  }

  public func cancelTask(_ id: String) async throws -> Orchion_V1_Task {
    try await tasks.cancelTask(
      request: .with { $0.taskID = id },
      context: Self.context("TaskService", "CancelTask")
    ).task
  }

  /// Hands `id`'s log from `position` on to `write`, batch by batch — output, Orchion's
  /// notices and agent events alike, each with its position — then, following, each new batch
  /// until the task is terminal, when `final` gets the task as it ended.
  /// - Parameter missed: Called before a batch when output between `position` and the batch
  ///   was dropped (the per-task limit), with the bytes dropped if known.
  /// - Throws: `notFound` for an unknown task, before anything is written.
  public func followLog(
    _ id: String,
    from position: Int64,
    follow: Bool,
    missed: @Sendable (Int64) async throws -> Void,
    write: @Sendable ([PositionedChunk]) async throws -> Void,
    final: @Sendable (Orchion_V1_Task) async throws -> Void
  ) async throws {
    let task = try TaskID(validating: id)
    try await tasks.follow(task, from: position, follow: follow) { read in
      if read.missedSome { try await missed(read.missedBytes) }
      let first = read.next &- Int64(read.chunks.count)
      try await write(
        read.chunks.enumerated().map {
          PositionedChunk(position: first &+ Int64($0.offset), chunk: Orchion_V1_LogChunk($0.element))
        }
      )
    } final: { task in
      try await final(task)
    }
  }

  /// Counts by state and status, queue depth and recent throughput; from the leader's memory,
  /// so a follower answers with what it has loaded (nothing until it leads).
  public func summary() -> ClusterSummary { cluster.summary() }

  /// Whether this orchestrator serves: it leads, its services are SERVING on the gRPC health
  /// board, and its store answers a read.
  public func isReady() async -> Bool {
    guard leadership.isLeader,
      serviceNames.allSatisfy({ health.status(of: $0) == .serving })
    else { return false }
    return (try? await store.tasks(TaskQuery(pageSize: 1))) != nil
  }

  /// Whether the process is up at all (the gRPC health board is not shut down).
  public var isAlive: Bool { health.status(of: "") != nil }

  private static func context(_ service: String, _ method: String) -> ServerContext {
    ServerContext(
      descriptor: MethodDescriptor(
        fullyQualifiedService: "orchion.v1.\(service)",
        method: method
      ),
      remotePeer: "in-process:http",
      localPeer: "in-process",
      cancellation: ServerContext.RPCCancellationHandle()
    )
  }
}
