import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

@testable import OrchionAgent

/// The agent's side of the stream against a real orchestrator on loopback: registration,
/// hello, assignments run by the executor, reports acknowledged, and the stream dialled again.
@Suite("AgentConnection", .timeLimit(.minutes(2)))
struct AgentConnectionTests {
  static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  /// An agent's connection and executor for `node`, with a client of `server`.
  struct TestAgent {
    let connection: AgentConnection
    let executor: TaskExecutor
    let outbox: Outbox
    let registration: RegistrationSource
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>

    init(node: String, server: ServerAddress, directory: String) throws {
      let id = try NodeID(validating: node)
      outbox = Outbox(maxBytes: 1 << 20)
      executor = TaskExecutor(
        outbox: outbox,
        clock: SystemClock(),
        nodeID: id,
        slots: 2,
        killGrace: .seconds(1),
        logger: AgentConnectionTests.logger
      )
      let credential = NodeCredentialFile(directory: directory, node: id)
      grpc = try OrchionNetworkClient.makeGRPCClient(
        server: server,
        token: testAdminToken,
        interceptors: [NodeCredentialInterceptor(credential: credential)]
      )
      registration = RegistrationSource(
        .with {
          $0.nodeID = node
          $0.slots = 2
          $0.resources = .with {
            $0.cpuMillis = 2000
            $0.memoryBytes = 1 << 30
          }
        }
      )
      connection = AgentConnection(
        servers: [(server, grpc)],
        token: testAdminToken,
        tls: nil,
        credential: credential,
        registration: registration,
        executor: executor,
        outbox: outbox,
        clock: SystemClock(),
        maxReconnectDelay: .milliseconds(200),
        instanceID: UUID().uuidString,
        logger: AgentConnectionTests.logger
      )
    }

    /// Runs the agent while `body` does, then stops it. Not alongside the spawner's lease
    /// tests: the welcome renews the one lease of this process.
    func running<T: Sendable>(_ body: () async throws -> T) async throws -> T {
      try await withQuietPeriod { try await run(body) }
    }

    private func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await grpc.runConnections() }
        group.addTask { await executor.run() }
        group.addTask { await connection.run() }
        defer {
          executor.stopAll(reason: "test over")
          group.cancelAll()
          grpc.beginGracefulShutdown()
        }
        return try await body()
      }
    }
  }

  func directory() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("agent-connection-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test("an agent registers, runs what it is assigned, and its reports are acknowledged")
  func runsAssignments() async throws {
    let directory = try directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try await withRunningOrchestrator { running, client in
      let agent = try TestAgent(node: "agent-1", server: running.address, directory: directory)
      try await agent.running {
        let submitted = try await client.tasks.submitTask(
          .with { $0.spec.command = ["sh", "-c", "echo from-the-agent"] }
        ).task
        try await eventually(timeout: .seconds(30)) {
          try await client.tasks.getTask(.with { $0.taskID = submitted.id }).task.state
            == .succeeded
        }
        let task = try await client.tasks.getTask(.with { $0.taskID = submitted.id }).task
        #expect(task.nodeID == "agent-1")
        // Everything the agent sent was made durable and acknowledged: its outbox is empty.
        try await eventually {
          agent.outbox.items(after: agent.outbox.acknowledgedSequence).isEmpty
        }
        #expect(agent.outbox.acknowledgedSequence == agent.outbox.lastSequence)
        #expect(FileManager.default.fileExists(atPath: directory + "/node-credential-agent-1"))
      }
    }
  }

  @Test("when its stream is replaced, the agent dials again and goes on running tasks")
  func reconnects() async throws {
    let directory = try directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try await withRunningOrchestrator { running, client in
      let agent = try TestAgent(node: "agent-2", server: running.address, directory: directory)
      try await agent.running {
        try await eventually {
          (try? await client.nodes.getNode(.with { $0.nodeID = "agent-2" }).node.status) == .active
        }
        // The node is removed under it: its stream ends, and the agent registers again.
        let before = try await client.nodes.getNode(.with { $0.nodeID = "agent-2" }).node
        _ = try await client.nodes.unregisterNode(.with { $0.nodeID = "agent-2" })
        try await eventually(timeout: .seconds(30)) {
          guard let again = try? await client.nodes.getNode(.with { $0.nodeID = "agent-2" }).node
          else { return false }
          return again.status == .active && again.registeredAt != before.registeredAt
        }
        let submitted = try await client.tasks.submitTask(.with { $0.spec.command = ["true"] })
          .task
        try await eventually(timeout: .seconds(30)) {
          try await client.tasks.getTask(.with { $0.taskID = submitted.id }).task.state
            == .succeeded
        }
      }
    }
  }
  @Test("a changed registration reaches the orchestrator on the open session, labels derived")
  func registrationChanges() async throws {
    let directory = try directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try await withRunningOrchestrator { running, client in
      let agent = try TestAgent(node: "agent-3", server: running.address, directory: directory)
      try await agent.running {
        try await eventually {
          (try? await client.nodes.getNode(.with { $0.nodeID = "agent-3" }).node.status) == .active
        }
        let before = try await client.nodes.getNode(.with { $0.nodeID = "agent-3" }).node
        #expect(before.agents.isEmpty)
        agent.registration.update {
          $0.agents = [
            .with {
              $0.name = "claude"
              $0.version = "1.0.58"
              $0.path = "/opt/bin/claude"
            }
          ]
          $0.labels["zone"] = "a"
        }
        try await eventually(timeout: .seconds(30)) {
          try await !client.nodes.getNode(.with { $0.nodeID = "agent-3" }).node.agents.isEmpty
        }
        let after = try await client.nodes.getNode(.with { $0.nodeID = "agent-3" }).node
        #expect(after.agents.map(\.name) == ["claude"])
        #expect(after.agents.first?.path == "/opt/bin/claude")
        #expect(after.labels == ["zone": "a", "agent.orchion.io/claude": "1.0.58"])
        #expect(after.status == .active)
        // The same session: it was not registered afresh.
        #expect(after.registeredAt == before.registeredAt)
      }
    }
  }
}
