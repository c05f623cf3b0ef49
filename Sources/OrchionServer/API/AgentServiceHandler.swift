import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `orchion.v1.AgentService`: the one stream each agent dials. Heartbeats, status and output
/// come up; assignments, stops and acknowledgements go down.
struct AgentServiceHandler: Orchion_V1_AgentService.SimpleServiceProtocol {
  let registry: NodeRegistry
  let dispatcher: TaskDispatcher
  let leadership: Leadership

  func connect(
    request: RPCAsyncSequence<Orchion_V1_AgentMessage, any Error>,
    response: RPCWriter<Orchion_V1_ServerMessage>,
    context: ServerContext
  ) async throws {
    let (outbound, continuation) = AsyncStream.makeStream(
      of: Orchion_V1_ServerMessage.self,
      bufferingPolicy: .bufferingOldest(AgentSession.maxQueuedMessages)
    )
    // grpc-swift does not cancel a handler when its client leaves or the server stops: ending
    // the outbound queue ends the writer, which cancels the reader below.
    try await withRPCCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for await message in outbound { try await response.write(message) }
        }
        group.addTask {
          defer { continuation.finish() }
          try await read(request, replyingTo: continuation)
        }
        defer { group.cancelAll() }
        try await group.next()
      }
    } onCancelRPC: {
      continuation.finish()
    }
  }

  private func read(
    _ request: RPCAsyncSequence<Orchion_V1_AgentMessage, any Error>,
    replyingTo outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation
  ) async throws {
    var session: AgentSession?
    defer { if let session { dispatcher.detach(session) } }
    for try await message in request {
      guard let current = session else {
        session = try open(message, outbound: outbound)
        continue
      }
      // Any message proves the node alive.
      _ = try registry.heartbeat(current.node)
      // What the agent sent is acknowledged only once it is durable: until then the agent
      // keeps it, and sends it again after a crash of this process.
      let sequence = message.outboxSequence
      let acknowledge: Journal.Effect? =
        sequence > 0
        ? { @Sendable in _ = current.send(.with { $0.ack = .with { $0.sequence = sequence } }) }
        : nil
      switch message.kind {
      case .heartbeat(let heartbeat):
        // The acknowledgement renews the agent's fencing lease: only a leader may give it. A
        // leader that lost its lease stops, so the node's tasks stop before another leader
        // can declare the node lost and run them elsewhere.
        if leadership.isLeader {
          current.send(.with { $0.heartbeatAck = .with { $0.probe = heartbeat.probe } })
        }
        if let acknowledge { dispatcher.afterCommit(acknowledge) }
      case .goodbye:
        // Behind the agent's last reports on this stream, so those are applied first. The
        // node becomes DISCONNECTED, which closes this session.
        if let acknowledge { dispatcher.afterCommit(acknowledge) }
        _ = try registry.leave(current.node)
      case .none:
        if let acknowledge { dispatcher.afterCommit(acknowledge) }
      case .hello:
        throw OrchionError.failedPrecondition("hello may only be the first message")
      case .status(let batch):
        dispatcher.report(
          try batch.updates.map(AttemptReport.init(validating:)),
          from: current.node,
          then: acknowledge
        )
      case .logs(let batch):
        let entries = try batch.entries.map { entry throws(OrchionError) in
          (chunk: entry.chunk, attempt: try AttemptID(validating: entry.attemptID))
        }
        dispatcher.appendLogs(entries, from: current.node, then: acknowledge)
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
    try NodeAccess.authorize(try registry.node(node))
    _ = try registry.heartbeat(node)
    let running = try hello.running.map { reference throws(OrchionError) in
      (
        task: try TaskID(validating: reference.taskID, field: "running.task_id"),
        attempt: try AttemptID(validating: reference.attemptID)
      )
    }
    outbound.yield(
      .with {
        $0.welcome = .with {
          $0.heartbeatInterval = .init(registry.configuration.heartbeatInterval)
          $0.fenceAfter = .init(
            registry.configuration.heartbeatTimeout + registry.configuration.lostAfter
          )
        }
      }
    )
    return dispatcher.attach(node: node, running: running, outbound: outbound)
  }
}

extension AttemptReport {
  init(validating update: Orchion_V1_TaskStatusUpdate) throws(OrchionError) {
    let state = try TaskState.from(update.state, field: "status.state")
    guard let state, state != .assigned else {
      throw .invalidArgument("status.state: must be PENDING, RUNNING or terminal")
    }
    self.init(
      task: try TaskID(validating: update.taskID, field: "status.task_id"),
      attempt: try AttemptID(validating: update.attemptID),
      state: state,
      exitCode: state.isTerminal ? update.exitCode : nil,
      message: String(update.message.prefix(1024)),
      time: UTCInstant(update.time)
    )
  }
}
