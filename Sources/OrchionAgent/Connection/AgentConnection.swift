import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The agent's side of the wire: register, open the one `Connect` stream, keep it open, and
/// dial again with backoff whenever it breaks. The orchestrator never dials the agent.
struct AgentConnection: Sendable {
  let grpc: GRPCClient<HTTP2ClientTransport.Posix>
  let registration: Orchion_V1_RegisterNodeRequest
  let executor: TaskExecutor
  let outbox: Outbox
  let clock: any WallClock
  let maxReconnectDelay: Duration
  let instanceID: String
  let logger: Logger
  /// Set when the agent is leaving: the current stream may finish, but no new one is opened.
  let leaving = Flag()

  /// Connects and reconnects until cancelled or leaving.
  func run() async {
    var backoff = Backoff(cap: maxReconnectDelay)
    var generator = SystemRandomNumberGenerator()
    while !Task.isCancelled && !leaving.value {
      do {
        try await session { backoff.reset() }
        if leaving.value { return }
        logger.warning("orchestrator closed the agent stream; reconnecting")
      } catch is CancellationError {
        return
      } catch {
        if Task.isCancelled { return }
        logger.warning("cannot reach the orchestrator", metadata: ["orchion.error": "\(error)"])
      }
      let delay = backoff.next(using: &generator)
      do {
        try await clock.sleep(for: delay)
      } catch {
        return
      }
    }
  }

  /// One registration and stream, until the stream ends.
  private func session(onWelcome: () -> Void) async throws {
    let nodes = Orchion_V1_NodeService.Client(wrapping: grpc)
    let registered = try await nodes.registerNode(registration)
    logger.info(
      "registered with the orchestrator",
      metadata: [
        "orchion.node.id": "\(registered.node.id)", "orchion.created": "\(registered.created)",
      ]
    )
    let interval = Duration(registered.heartbeatInterval, default: .seconds(10))
    let hello = Orchion_V1_AgentMessage.with {
      $0.hello = .with {
        $0.nodeID = registered.node.id
        $0.instanceID = instanceID
        $0.running = executor.running.map { running in
          .with {
            $0.taskID = running.taskID
            $0.attemptID = running.attemptID
          }
        }
      }
    }
    let doorbell = outbox.subscribe()
    let heartbeatDue = Flag()
    let agent = Orchion_V1_AgentService.Client(wrapping: grpc)
    let welcomed = try await agent.connect { writer in
      try await writer.write(hello)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          while true {
            try await clock.sleep(for: interval)
            heartbeatDue.set(true)
            outbox.ring()
          }
        }
        group.addTask {
          try await send(from: outbox, doorbell: doorbell, heartbeatDue: heartbeatDue, to: writer)
        }
        defer { group.cancelAll() }
        try await group.next()
      }
    } onResponse: { response in
      defer { outbox.unsubscribe() }
      var welcomed = false
      var lease: Duration?
      for try await message in response.messages {
        // Hearing from the orchestrator means it still counts this node's tasks as ours.
        if let lease { ProcessLauncher.renewLease(for: lease) }
        switch message.kind {
        case .welcome(let welcome):
          welcomed = true
          lease = Self.lease(for: welcome, heartbeatInterval: interval)
          if let lease { ProcessLauncher.renewLease(for: lease) }
        case .heartbeatAck:
          break
        case .assign(let assignment):
          executor.assign(assignment)
        case .stop(let stop):
          executor.stop(stop)
        case .ack(let ack):
          outbox.acknowledge(upTo: ack.sequence)
        case .none:
          break
        }
      }
      return welcomed
    }
    if welcomed { onWelcome() }
  }

  /// How long after last hearing from the orchestrator this node's fenced tasks stop: the
  /// orchestrator's heartbeat-timeout + lost-after, less one heartbeat interval, so they stop
  /// before the orchestrator gives them to another node even if the last heartbeat it heard was
  /// sent an interval before its reply arrived. `nil` when the orchestrator does not say.
  static func lease(for welcome: Orchion_V1_Welcome, heartbeatInterval: Duration) -> Duration? {
    guard welcome.hasFenceAfter else { return nil }
    let fenceAfter = Duration(welcome.fenceAfter, default: .zero)
    guard fenceAfter > .zero else { return nil }
    return max(fenceAfter / 2, fenceAfter - heartbeatInterval)
  }

  /// Writes what the outbox holds — everything not yet acknowledged, then each new item — and
  /// a heartbeat when one is due, until the doorbell ends with the connection.
  private func send(
    from outbox: Outbox,
    doorbell: AsyncStream<Void>,
    heartbeatDue: Flag,
    to writer: RPCWriter<Orchion_V1_AgentMessage>
  ) async throws {
    var cursor = outbox.acknowledgedSequence
    for await _ in doorbell {
      while true {
        let items = outbox.items(after: cursor)
        guard let last = items.last else { break }
        for message in Self.coalesce(items) { try await writer.write(message) }
        cursor = last.sequence
        heartbeatDue.set(false)
      }
      if heartbeatDue.take() {
        try await writer.write(.with { $0.heartbeat = .init() })
      }
    }
  }

  /// Packs consecutive items of one kind into one message; its sequence is the last item's,
  /// which acknowledges all of them.
  static func coalesce(_ items: [Outbox.Item]) -> [Orchion_V1_AgentMessage] {
    var messages: [Orchion_V1_AgentMessage] = []
    var current: Orchion_V1_AgentMessage?
    var bytes = 0
    for item in items {
      switch item.payload {
      case .status(let update):
        if case .status? = current?.kind {
          current?.status.updates.append(update)
        } else {
          if let current { messages.append(current) }
          current = .with { $0.status = .with { $0.updates = [update] } }
          bytes = 0
        }
      case .log(let entry):
        if case .logs? = current?.kind, bytes + item.bytes <= 1 << 20 {
          current?.logs.entries.append(entry)
        } else {
          if let current { messages.append(current) }
          current = .with { $0.logs = .with { $0.entries = [entry] } }
          bytes = 0
        }
        bytes += item.bytes
      }
      current?.outboxSequence = item.sequence
    }
    if let current { messages.append(current) }
    return messages
  }
}

extension Duration {
  init(_ proto: Google_Protobuf_Duration, default fallback: Duration) {
    let value = Duration.seconds(proto.seconds) + .nanoseconds(Int64(proto.nanos))
    self = value > .zero ? value : fallback
  }
}

/// A boolean shared between tasks.
final class Flag: Sendable {
  private let storage = Atomic<Bool>(false)

  var value: Bool { storage.load(ordering: .relaxed) }

  func set(_ newValue: Bool) {
    storage.store(newValue, ordering: .relaxed)
  }

  /// Reads the flag and clears it.
  func take() -> Bool {
    storage.exchange(false, ordering: .relaxed)
  }
}
