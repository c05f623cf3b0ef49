import GRPCCore

/// Refuses writes on a follower (UNAVAILABLE, naming the leader), before any handler runs:
/// nothing a follower holds in memory may change, and its agents must go to the leader.
/// Reads pass; their handlers answer from the store.
struct LeaderOnlyInterceptor: ServerInterceptor {
  let leadership: Leadership

  /// Methods that change state or need the leader's live view.
  static let writes: Set<String> = [
    "orchion.v1.NodeService/RegisterNode", "orchion.v1.NodeService/Heartbeat",
    "orchion.v1.NodeService/UnregisterNode", "orchion.v1.NodeService/CordonNode",
    "orchion.v1.NodeService/UncordonNode", "orchion.v1.NodeService/DrainNode",
    "orchion.v1.TaskService/SubmitTask", "orchion.v1.TaskService/CancelTask",
    "orchion.v1.AgentService/Connect", "orchion.v1.TokenService/CreateToken",
    "orchion.v1.TokenService/RevokeToken", "orchion.v1.SecretService/SetSecret",
    "orchion.v1.SecretService/ListSecrets", "orchion.v1.SecretService/DeleteSecret",
    "orchion.v1.RouterService/Send", "orchion.v1.RouterService/SendStream",
    "orchion.v1.RouterService/Subscribe", "orchion.v1.RouterService/Ack",
    "orchion.v1.RouterService/ListMailboxes",
  ]

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    if !leadership.isLeader, Self.writes.contains(context.descriptor.fullyQualifiedMethod) {
      return StreamingServerResponse(error: leadership.notLeaderError())
    }
    return try await next(request, context)
  }
}
