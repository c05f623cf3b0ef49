import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The agent's side of the wire: register, open the one `Connect` stream, keep it open, and
/// dial again with backoff whenever it breaks or the orchestrator falls silent. The
/// orchestrator never dials the agent. With several orchestrators (a shared store), each
/// session goes to whichever leads.
struct AgentConnection: Sendable {
  /// The orchestrators of the cluster, each with its client.
  let servers: [(address: ServerAddress, grpc: GRPCClient<HTTP2ClientTransport.Posix>)]
  let token: String?
  let tls: ClientTLS?
  /// The credential this node registered with, presented on every call.
  let credential: NodeCredentialFile
  /// Which of ``servers`` the current (or last) session uses.
  private let current = SharedCounter()
  /// What the node registers as; when it changes, the session registers again.
  let registration: RegistrationSource
  let executor: TaskExecutor
  let outbox: Outbox
  let clock: any WallClock
  let maxReconnectDelay: Duration
  let instanceID: String
  let logger: Logger
  /// Set when the agent is leaving: the current stream may finish, but no new one is opened.
  let leaving = Flag()
  /// Set once ``run()`` has returned: no stream is open and none will be.
  let finished = Flag()

  init(
    servers: [(address: ServerAddress, grpc: GRPCClient<HTTP2ClientTransport.Posix>)],
    token: String?,
    tls: ClientTLS?,
    credential: NodeCredentialFile,
    registration: RegistrationSource,
    executor: TaskExecutor,
    outbox: Outbox,
    clock: any WallClock,
    maxReconnectDelay: Duration,
    instanceID: String,
    logger: Logger
  ) {
    precondition(!servers.isEmpty, "an agent needs an orchestrator address")
    self.servers = servers
    self.token = token
    self.tls = tls
    self.credential = credential
    self.registration = registration
    self.executor = executor
    self.outbox = outbox
    self.clock = clock
    self.maxReconnectDelay = maxReconnectDelay
    self.instanceID = instanceID
    self.logger = logger
  }

  /// The client of the orchestrator in use.
  var grpc: GRPCClient<HTTP2ClientTransport.Posix> { servers[current.value].grpc }

  /// Connects and reconnects until cancelled or leaving.
  func run() async {
    defer { finished.set(true) }
    var backoff = Backoff(cap: maxReconnectDelay)
    var generator = SystemRandomNumberGenerator()
    while !Task.isCancelled && !leaving.value {
      await chooseServer()
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

  /// Picks the leader among several orchestrators; when none says it leads (an election in
  /// progress), the next one in turn.
  private func chooseServer() async {
    guard servers.count > 1 else { return }
    let leader = await LeaderFinder.find(among: servers.map(\.address), token: token, tls: tls)
    if let leader, let found = servers.firstIndex(where: { $0.address == leader }) {
      current.value = found
    } else {
      current.value = (current.value + 1) % servers.count
    }
  }

  /// One registration and stream, until the stream ends or the orchestrator falls silent.
  private func session(onWelcome: () -> Void) async throws {
    // The orchestrator counts this node alive from when it hears the hello, which is after now:
    // the lease the welcome grants starts from here.
    let startedAt = ProcessLauncher.monotonicNanoseconds()
    let nodes = Orchion_V1_NodeService.Client(wrapping: grpc)
    let changes = registration.subscribe()
    let (request, generation) = registration.current
    let registered = try await nodes.registerNode(request)
    // Kept before anything else is said for the node: every later call presents it.
    try credential.save(registered.credential)
    logger.info(
      "registered with the orchestrator",
      metadata: [
        "orchion.node.id": "\(registered.node.id)", "orchion.created": "\(registered.created)",
      ]
    )
    let interval = Duration(registered.heartbeatInterval, default: .seconds(10))
    let hello = Orchion_V1_AgentMessage.with {
      $0.hello = .with {
        $0.version = OrchionVersion.current
        $0.protocol = OrchionVersion.agentProtocol
        $0.nodeID = registered.node.id
        $0.instanceID = instanceID
        // Running attempts, and those that ended with their report still unacknowledged: the
        // report follows on this stream, and until it arrives the attempt is not lost.
        var seen = Set<String>()
        let running = executor.running.map {
          (taskID: $0.task.rawValue, attemptID: $0.attempt.rawValue)
        }
        $0.running = (running + outbox.attemptsWithUnacknowledgedStatus).compactMap {
          attempt in
          guard seen.insert(attempt.attemptID).inserted else { return nil }
          return .with {
            $0.taskID = attempt.taskID
            $0.attemptID = attempt.attemptID
          }
        }
      }
    }
    let doorbell = outbox.subscribe()
    let heartbeatDue = Flag()
    let probes = HeartbeatProbes()
    // A frozen orchestrator keeps its connections open but says nothing: after three heartbeat
    // intervals without a word (it acknowledges every heartbeat), dial again — with several
    // orchestrators, another may lead by then.
    let lastHeard = SharedCounter(Int(clock.now.nanosecondsSinceEpoch))
    let silence = max(interval * 3, .seconds(1))
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
          try await send(
            from: outbox,
            doorbell: doorbell,
            heartbeatDue: heartbeatDue,
            probes: probes,
            to: writer
          )
        }
        group.addTask {
          try await reregister(on: changes, after: generation, using: nodes)
        }
        group.addTask {
          while true {
            try await clock.sleep(for: interval)
            let heard = UTCInstant(nanosecondsSinceEpoch: Int64(lastHeard.value))
            if heard.advanced(by: silence) < clock.now {
              throw OrchionError.unavailable(
                "the orchestrator has said nothing for \(DurationFormat.format(silence))"
              )
            }
          }
        }
        defer { group.cancelAll() }
        try await group.next()
      }
    } onResponse: { response in
      defer { outbox.unsubscribe() }
      var welcomed = false
      var lease: FencingLease?
      for try await message in response.messages {
        lastHeard.value = Int(clock.now.nanosecondsSinceEpoch)
        switch message.kind {
        case .welcome(let welcome):
          welcomed = true
          lease = FencingLease(
            fenceAfter: Duration(welcome.fenceAfter, default: .zero),
            killGrace: executor.killGrace
          )
          if let lease { ProcessLauncher.renewLease(lease, from: startedAt) }
        case .heartbeatAck(let ack):
          // Only an acknowledged heartbeat renews the lease — not any message: an orchestrator
          // that still talks but no longer hears this node (a one-way partition) is about to
          // give its tasks away. A leader that lost its lease stops acknowledging.
          if let lease, let sentAt = probes.acknowledged(ack.probe) {
            ProcessLauncher.renewLease(lease, from: sentAt)
          }
        case .assign(let message):
          do throws(OrchionError) {
            executor.assign(try Assignment(validating: message))
          } catch {
            executor.refuse(message, because: error)
          }
        case .stop(let message):
          // A stop naming no attempt this agent could run has nothing to stop.
          if let request = try? StopRequest(validating: message) { executor.stop(request) }
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

  /// Registers again whenever the registration changes (detection found a new CLI), so the
  /// orchestrator sees it without a new session. Registering an active node with its own
  /// credential only updates what it offers; the stream goes on.
  private func reregister(
    on changes: AsyncStream<Void>,
    after generation: UInt64,
    using nodes: Orchion_V1_NodeService.Client<HTTP2ClientTransport.Posix>
  ) async throws {
    var sent = generation
    for await _ in changes {
      let (request, generation) = registration.current
      guard generation != sent else { continue }
      let registered = try await nodes.registerNode(request)
      // The same credential comes back.
      try credential.save(registered.credential)
      sent = generation
      logger.info(
        "registration updated",
        metadata: ["orchion.agents": "\(request.agents.map(\.name).joined(separator: ","))"]
      )
    }
    // Ends when the session does, or when a newer session subscribed (then this one is stale).
    try Task.checkCancellation()
    throw OrchionError(code: .internalError, message: "a newer session took over registration")
  }

  /// Writes what the outbox holds — everything not yet acknowledged, then each new item — and
  /// a heartbeat when one is due, until the doorbell ends with the connection.
  private func send(
    from outbox: Outbox,
    doorbell: AsyncStream<Void>,
    heartbeatDue: Flag,
    probes: HeartbeatProbes,
    to writer: RPCWriter<Orchion_V1_AgentMessage>
  ) async throws {
    var cursor = outbox.acknowledgedSequence
    for await _ in doorbell {
      while true {
        let items = outbox.items(after: cursor)
        guard let last = items.last else { break }
        for message in Self.coalesce(items) { try await writer.write(message) }
        cursor = last.sequence
      }
      // A heartbeat every interval, busy or not: its acknowledgement is what renews the lease.
      if heartbeatDue.take() {
        let probe = probes.next(sentAt: ProcessLauncher.monotonicNanoseconds())
        try await writer.write(.with { $0.heartbeat = .with { $0.probe = probe } })
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
      case .goodbye(let reason):
        if let current { messages.append(current) }
        current = .with { $0.goodbye = .with { $0.reason = reason } }
        bytes = 0
      }
      current?.outboxSequence = item.sequence
    }
    if let current { messages.append(current) }
    return messages
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

/// An integer shared between tasks.
final class SharedCounter: Sendable {
  private let storage: Atomic<Int>

  init(_ value: Int = 0) {
    storage = Atomic(value)
  }

  var value: Int {
    get { storage.load(ordering: .relaxed) }
    set { storage.store(newValue, ordering: .relaxed) }
  }
}
