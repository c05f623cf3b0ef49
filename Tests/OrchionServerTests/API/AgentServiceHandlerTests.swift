import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

/// A joined node is untrusted: whatever it sends on its stream, the orchestrator keeps serving,
/// refuses what breaks a rule (naming the field) and stores only what a node may say.
@Suite("AgentService edge", .serialized)
struct AgentServiceHandlerTests {
  /// What a fake node holds: its credential, its assignment, its open stream.
  struct FakeNode {
    var admin: InProcessClient
    var agent: InProcessClient
    var credential: String
    var assignment: Orchion_V1_TaskAssignment

    /// Opens a stream and says hello, running the assignment.
    func connect(running: Bool = true) async throws -> FakeAgentStream {
      let stream = FakeAgentStream(client: agent, credential: credential)
      stream.send(
        .with {
          $0.hello.nodeID = "fuzz"
          $0.hello.protocol = OrchionVersion.agentProtocol
          if running {
            $0.hello.running = [
              .with {
                $0.taskID = assignment.taskID
                $0.attemptID = assignment.attemptID
              }
            ]
          }
        }
      )
      let welcome = try await stream.next()
      guard case .welcome = welcome?.kind else {
        throw OrchionError(code: .internalError, message: "no welcome: \(String(describing: welcome))")
      }
      return stream
    }

    func chunk(_ text: String, sequence: Int64, stream: Orchion_V1_LogStream = .stdout)
      -> Orchion_V1_AttemptLog
    {
      .with {
        $0.attemptID = assignment.attemptID
        $0.chunk = .with {
          $0.taskID = assignment.taskID
          $0.attempt = assignment.attempt
          $0.stream = stream
          $0.sequence = sequence
          $0.data = Data(text.utf8)
        }
      }
    }

    /// The task's output as a reader sees it.
    func output() async throws -> [Orchion_V1_LogChunk] {
      try await admin.tasks.streamTaskLogs(.with { $0.taskID = assignment.taskID }) { response in
        var chunks: [Orchion_V1_LogChunk] = []
        for try await chunk in response.messages { chunks.append(chunk) }
        return chunks
      }
    }
  }

  /// Registers node `fuzz` with a join token, connects it, and gives it a task.
  func withFakeNode(_ body: (FakeNode, FakeAgentStream) async throws -> Void) async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      try await running.withClient(token: join) { agent in
        let credential = try await agent.nodes.registerNode(
          .with {
            $0.nodeID = "fuzz"
            $0.resources.cpuMillis = 4_000
            $0.resources.memoryBytes = 1 << 32
          }
        ).credential
        var node = FakeNode(
          admin: admin,
          agent: agent,
          credential: credential,
          assignment: .init()
        )
        let stream = try await node.connect(running: false)
        _ = try await admin.tasks.submitTask(.with { $0.spec.command = ["true"] })
        let assigned = try await stream.next {
          if case .assign = $0.kind { true } else { false }
        }
        node.assignment = try #require(assigned).assign
        try await body(node, stream)
      }
    }
  }

  @Test(
    "a log chunk with sequence Int64.max, -1 or Int64.min ends the stream with INVALID_ARGUMENT naming the field; the orchestrator keeps serving",
    arguments: [Int64.max, -1, Int64.min]
  )
  func boundarySequences(sequence: Int64) async throws {
    try await withFakeNode { node, stream in
      stream.send(.with { $0.logs.entries = [node.chunk("fine\n", sequence: 0)] })
      // Twice: an agent resends what was not acknowledged after every restart.
      for attempt in 0..<2 {
        let current = attempt == 0 ? stream : try await node.connect()
        current.send(.with { $0.logs.entries = [node.chunk("boom\n", sequence: sequence)] })
        let error = try #require(await current.end())
        #expect(error.code == .invalidArgument, "\(error)")
        #expect(error.message.contains("logs.entries[0].chunk.sequence"), "\(error)")
      }
      let nodes = try await node.admin.nodes.listNodes(.init()).nodes
      #expect(nodes.map(\.id) == ["fuzz"])
      #expect(try await node.output().map(\.data) == [Data("fine\n".utf8)])
    }
  }

  @Test(
    "a node cannot send final_task or SYSTEM lines (refused, nothing of the message stored); empty chunks and unknown fields are dropped"
  )
  func orchestratorOnlyFields() async throws {
    try await withFakeNode { node, stream in
      var withUnknownField = node.chunk("kept\n", sequence: 1)
      // Field 31, varint 5: unknown to this version.
      withUnknownField.chunk = try Orchion_V1_LogChunk(
        serializedBytes: try withUnknownField.chunk.serializedBytes() + [0xF8, 0x01, 0x05]
      )
      #expect(!withUnknownField.chunk.unknownFields.data.isEmpty)
      stream.send(
        .with {
          $0.logs.entries = [node.chunk("", sequence: 0), withUnknownField]
        }
      )
      var forged = node.chunk("[orchion] task succeeded\n", sequence: 2)
      forged.chunk.finalTask = .with {
        $0.id = node.assignment.taskID
        $0.state = .succeeded
      }
      // The valid entry before it is not stored either: a message is refused whole.
      stream.send(.with { $0.logs.entries = [node.chunk("not kept\n", sequence: 2), forged] })
      let finalTask = try #require(await stream.end())
      #expect(finalTask.code == .invalidArgument)
      #expect(finalTask.message.contains("logs.entries[1].chunk.final_task"), "\(finalTask)")

      for kind in [Orchion_V1_LogStream.system, .unspecified, .UNRECOGNIZED(9)] {
        let again = try await node.connect()
        again.send(
          .with { $0.logs.entries = [node.chunk("[orchion] forged\n", sequence: 3, stream: kind)] }
        )
        let system = try #require(await again.end())
        #expect(system.code == .invalidArgument)
        #expect(system.message.contains("logs.entries[0].chunk.stream"), "\(system)")
      }
      let output = try await node.output()
      #expect(output.map { String(decoding: $0.data, as: UTF8.self) } == ["kept\n"])
      #expect(output.allSatisfy { $0.stream == .stdout && !$0.hasFinalTask })
      #expect(output.allSatisfy { $0.unknownFields.data.isEmpty })
      let task = try await node.admin.tasks.getTask(.with { $0.taskID = node.assignment.taskID })
      #expect(task.task.state == .assigned)
    }
  }
  @Test("an agent whose protocol is older than the orchestrator's minimum is refused, told which versions and how to upgrade")
  func oldAgentRefused() async throws {
    try await withFakeNode { node, _ in
      for (version, shown) in [("", "an older release"), ("0.1.0", "'0.1.0'")] {
        let old = FakeAgentStream(client: node.agent, credential: node.credential)
        old.send(
          .with {
            $0.hello.nodeID = "fuzz"
            $0.hello.version = version
            $0.hello.protocol = OrchionVersion.minimumAgentProtocol - 1
          }
        )
        let error = try #require(await old.end())
        #expect(error.code == .failedPrecondition, "\(error)")
        #expect(error.message.contains("speaks agent protocol \(OrchionVersion.minimumAgentProtocol - 1) (\(shown))"), "\(error)")
        #expect(error.message.contains("install orchion \(OrchionVersion.current)"), "\(error)")
      }
      // One that speaks the protocol is let in.
      _ = try await node.connect()
    }
  }

  @Test(
    "agent events from a node must decode as an AgentEvent of a known kind with sane numbers, and an agent_result must validate; a bad one is refused naming the field"
  )
  func hostileAgentEvents() async throws {
    try await withFakeNode { node, stream in
      func event(_ kind: Orchion_V1_AgentEvent.OneOf_Kind?, sequence: Int64) throws
        -> Orchion_V1_AttemptLog
      {
        var entry = node.chunk("", sequence: sequence, stream: .agentEvent)
        entry.chunk.data = try Orchion_V1_AgentEvent.with { $0.kind = kind }.serializedBytes()
        return entry
      }
      let hello = try event(.text(.with { $0.text = "hello" }), sequence: 0)
      stream.send(.with { $0.logs.entries = [hello] })
      let refusals: [(Orchion_V1_AttemptLog, String)] = [
        (node.chunk("not protobuf \u{FF}", sequence: 1, stream: .agentEvent), "not an AgentEvent"),
        (try event(nil, sequence: 1), "known kind"),
        (try event(.usage(.with { $0.inputTokens = -5 }), sequence: 1), "usage"),
        (try event(.result(.with { $0.status = .succeeded; $0.costUsd = .infinity }), sequence: 1), "cost_usd"),
        (try event(.result(.with { $0.status = .unspecified }), sequence: 1), "status"),
      ]
      for (entry, expected) in refusals {
        let current = try await node.connect()
        current.send(.with { $0.logs.entries = [entry] })
        let error = try #require(await current.end())
        #expect(error.code == .invalidArgument, "\(error)")
        #expect(error.message.contains("logs.entries[0].chunk.data"), "\(error)")
        #expect(error.message.contains(expected), "\(error)")
      }
      let current = try await node.connect()
      current.send(
        .with {
          $0.status.updates = [
            .with {
              $0.taskID = node.assignment.taskID
              $0.attemptID = node.assignment.attemptID
              $0.state = .succeeded
              $0.time = .init(date: Date())
              $0.agentResult = .with {
                $0.status = .succeeded
                $0.sessionID = "--evil"
              }
            }
          ]
        }
      )
      let error = try #require(await current.end())
      #expect(error.message.contains("status.updates[0].agent_result.session_id"), "\(error)")
      let events = try await node.admin.tasks.streamAgentEvents(
        .with { $0.taskID = node.assignment.taskID }
      ) { response in
        var events: [Orchion_V1_AgentEvent] = []
        for try await event in response.messages { events.append(event) }
        return events
      }
      #expect(events.count == 1)
      #expect(events.first?.sequence == 1 && events.first?.text.text == "hello")
      // Events are not output.
      #expect(try await node.output().isEmpty)
      let task = try await node.admin.tasks.getTask(.with { $0.taskID = node.assignment.taskID })
      #expect(task.task.state == .assigned && !task.task.hasAgentResult)
    }
  }
}
