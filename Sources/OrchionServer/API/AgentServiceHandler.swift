import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// `orchion.v1.AgentService`: the one stream each agent dials. Heartbeats, status and output
/// come up; assignments, stops and acknowledgements go down.
struct AgentServiceHandler: Orchion_V1_AgentService.SimpleServiceProtocol {
  let cluster: Cluster
  let leadership: Leadership
  /// Where the HTTP server hands out the install script, once it listens (`nil`: none).
  var installBase: @Sendable () -> String? = { nil }

  func connect(
    request: RPCAsyncSequence<Orchion_V1_AgentMessage, any Error>,
    response: RPCWriter<Orchion_V1_ServerMessage>,
    context: ServerContext
  ) async throws {
    let (outbound, continuation) = AsyncStream.makeStream(
      of: Orchion_V1_ServerMessage.self,
      bufferingPolicy: .bufferingOldest(AgentSession.maxQueuedMessages)
    )
    // Why the reader refused the agent: a refused message must end the stream with its status
    // even when the writer, seeing the queue end as the session closes, finishes first.
    let refusal = Refusal()
    // grpc-swift does not cancel a handler when its client leaves or the server stops: ending
    // the outbound queue ends the writer, which cancels the reader below.
    try await withRPCCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for await message in outbound { try await response.write(message) }
        }
        group.addTask {
          defer { continuation.finish() }
          do {
            try await read(request, replyingTo: continuation)
          } catch let error as OrchionError {
            // Ours: a refusal. (Kept before the writer can finish and cancel this task.)
            refusal.error.withLock { $0 = error }
            throw error
          }
        }
        defer { group.cancelAll() }
        try await group.next()
      }
    } onCancelRPC: {
      continuation.finish()
    }
    if let error = refusal.error.withLock({ $0 }) { throw error }
  }

  private func read(
    _ request: RPCAsyncSequence<Orchion_V1_AgentMessage, any Error>,
    replyingTo outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation
  ) async throws {
    var session: AgentSession?
    defer { if let session { cluster.detach(session) } }
    for try await message in request {
      guard let current = session else {
        session = try open(message, outbound: outbound)
        continue
      }
      // Checked whole before anything changes: a refused message ends the stream
      // (INVALID_ARGUMENT naming the field) and applies nothing, not even its heartbeat.
      let input = try AgentInput(validating: message)
      // Any message proves the node alive.
      _ = try cluster.heartbeat(current.node)
      // What the agent sent is acknowledged only once it is durable: until then the agent
      // keeps it, and sends it again after a crash of this process.
      let sequence = message.outboxSequence
      let acknowledge: Journal.Effect? =
        sequence > 0
        ? { @Sendable in _ = current.send(.with { $0.ack = .with { $0.sequence = sequence } }) }
        : nil
      switch input {
      case .heartbeat(let probe):
        // The acknowledgement renews the agent's fencing lease: only a leader may give it. A
        // leader that lost its lease stops, so the node's tasks stop before another leader
        // can declare the node lost and run them elsewhere.
        if leadership.isLeader {
          current.send(.with { $0.heartbeatAck = .with { $0.probe = probe } })
        }
        if let acknowledge { cluster.afterCommit(acknowledge) }
      case .goodbye:
        // Behind the agent's last reports on this stream, so those are applied first. The
        // node becomes DISCONNECTED, which closes this session.
        if let acknowledge { cluster.afterCommit(acknowledge) }
        _ = try cluster.leave(current.node)
      case .nothing:
        if let acknowledge { cluster.afterCommit(acknowledge) }
      case .status(let reports):
        cluster.report(reports, from: current.node, then: acknowledge)
      case .logs(let entries):
        cluster.appendLogs(entries, from: current.node, then: acknowledge)
      }
    }
  }

  /// Handles the first message, which must be hello from a registered, connected node.
  private func open(
    _ message: Orchion_V1_AgentMessage,
    outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation
  ) throws -> AgentSession {
    guard case .hello(let hello) = message.kind else {
      throw OrchionError.failedPrecondition("the first message on the agent stream must be hello")
    }
    let node = try NodeID(validating: hello.nodeID)
    try NodeAccess.authorize(try cluster.node(node))
    guard hello.protocol >= OrchionVersion.minimumAgentProtocol else {
      let version = hello.version.isEmpty ? "an older release" : TextRules.quoted(hello.version)
      let how =
        installBase().map {
          "curl -fsSL \($0)/install.sh | sh -s -- --server HOST:PORT --token JOIN_TOKEN on that machine"
        } ?? "install orchion \(OrchionVersion.current) on that machine and restart its agent"
      throw OrchionError.failedPrecondition(
        "the agent of node \(node) speaks agent protocol \(hello.protocol) (\(version)); this orchestrator (\(OrchionVersion.current)) needs protocol \(OrchionVersion.minimumAgentProtocol) or later: \(how)"
      )
    }
    guard hello.running.count <= AgentStreamLimits.maxRunningAttempts else {
      throw OrchionError.invalidArgument(
        field: "hello.running",
        "hello.running: \(hello.running.count) attempts, at most \(AgentStreamLimits.maxRunningAttempts)"
      )
    }
    guard hello.instanceID.utf8.count <= AgentStreamLimits.maxInstanceIDBytes else {
      throw OrchionError.invalidArgument(
        field: "hello.instance_id",
        "hello.instance_id: at most \(AgentStreamLimits.maxInstanceIDBytes) bytes"
      )
    }
    var running: [(task: TaskID, attempt: AttemptID)] = []
    running.reserveCapacity(hello.running.count)
    for (position, reference) in hello.running.enumerated() {
      running.append(
        (
          task: try TaskID(
            validating: reference.taskID,
            field: "hello.running[\(position)].task_id"
          ),
          attempt: try AttemptID(
            validating: reference.attemptID,
            field: "hello.running[\(position)].attempt_id"
          )
        )
      )
    }
    _ = try cluster.heartbeat(node)
    outbound.yield(
      .with {
        $0.welcome = .with {
          $0.heartbeatInterval = .init(cluster.configuration.heartbeatInterval)
          $0.fenceAfter = .init(
            cluster.configuration.heartbeatTimeout + cluster.configuration.lostAfter
          )
        }
      }
    )
    return cluster.attach(node: node, running: running, outbound: outbound)
  }
}

/// Why an agent stream's reader stopped, shared with the handler that answers the stream.
private final class Refusal: Sendable {
  let error = Mutex<OrchionError?>(nil)
}
