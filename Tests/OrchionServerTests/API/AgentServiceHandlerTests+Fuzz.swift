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

/// Random and boundary agent messages, each knowing whether the orchestrator must take it or
/// refuse it, and for a refusal which field the error names.
struct AgentMessageFuzzer {
  var random: SplitMix64
  let node: AgentServiceHandlerTests.FakeNode

  /// `nil`: valid. Else the code and a text the error message must contain.
  typealias Expected = (code: RPCError.Code, names: String)?

  static let badSequences: [Int64] = [-1, .min, .max]
  static let badStreams: [Orchion_V1_LogStream] = [
    .system, .unspecified, .UNRECOGNIZED(7), .UNRECOGNIZED(-1), .UNRECOGNIZED(Int(Int32.max)),
  ]
  static let badTimes: [(seconds: Int64, nanos: Int32)] = [
    (0, -1), (0, 1_000_000_000), (0, .max), (0, .min), (.max, 0), (.min, 0), (.max, .max),
  ]
  static let badTaskIDs = ["", "t123", "x" + String(repeating: "0", count: 20), String(repeating: "t", count: 10_000)]
  /// "e" followed by n combining accents: one character of n + 1 scalars.
  static let longCharacters = [0, 1, 1_022, 1_023, 1_024, 5_000, 10_000].map {
    "e" + String(repeating: "\u{301}", count: $0)
  }
  static let badAttemptIDs = ["", String(repeating: "a", count: 65), String(repeating: "é", count: 40)]

  mutating func int64() -> Int64 {
    [0, 1, -1, .max, .min, Int64.random(in: .min ... .max, using: &random)].randomElement(
      using: &random
    ) ?? 0
  }

  mutating func validChunk() -> Orchion_V1_AttemptLog {
    var entry = node.chunk(
      String(repeating: "x", count: Int.random(in: 0...200, using: &random)),
      sequence: Int64.random(in: 0..<Int64.max, using: &random),
      stream: Bool.random(using: &random) ? .stdout : .stderr
    )
    entry.chunk.attempt = Int32.random(in: 0...Int32.max, using: &random)
    if Bool.random(using: &random) {
      entry.chunk.time = .with {
        $0.seconds = Int64.random(in: -1_000_000_000...9_000_000_000, using: &random)
        $0.nanos = Int32.random(in: 0..<1_000_000_000, using: &random)
      }
    }
    if Int.random(in: 0..<10, using: &random) == 0 {
      // A task this node does not run: well formed, dropped.
      entry.chunk.taskID = "t" + String(repeating: "a", count: 20)
    }
    return entry
  }

  mutating func validUpdate() -> Orchion_V1_TaskStatusUpdate {
    .with {
      $0.taskID = node.assignment.taskID
      $0.attemptID = node.assignment.attemptID
      $0.state = .running
      $0.exitCode = Int32.random(in: .min ... .max, using: &random)
      // One character of up to 10,000 scalars: cut, not refused. (Made once: building such a
      // string costs more than everything the orchestrator does with it.)
      $0.message = Self.longCharacters.randomElement(using: &random) ?? ""
      $0.time = .with { $0.seconds = Int64.random(in: 0...4_000_000_000, using: &random) }
    }
  }

  /// One message and what must become of it.
  mutating func next() -> (Orchion_V1_AgentMessage, Expected) {
    var message = Orchion_V1_AgentMessage()
    message.outboxSequence = UInt64(bitPattern: int64())
    let roll = Int.random(in: 0..<100, using: &random)
    switch roll {
    case 0..<20:
      message.heartbeat = .init()
      return (message, nil)
    case 20..<24:
      return (message, nil)  // no kind at all
    case 24..<60:
      // Now and then a full batch of empty chunks (the most a message may hold): rarely, as
      // decoding thousands of entries in a debug build dominates the test's time.
      let full = roll == 24 && Int.random(in: 0..<20, using: &random) == 0
      let count = full ? AgentStreamLimits.maxLogEntries : Int.random(in: 0...8, using: &random)
      message.logs.entries = (0..<count).map { _ in full ? node.chunk("", sequence: 0) : validChunk() }
      return (message, nil)
    case 60..<70:
      message.status.updates = (0..<Int.random(in: 0...3, using: &random)).map { _ in validUpdate() }
      return (message, nil)
    case 70..<92:
      // One bad field among valid entries.
      var entries = (0..<Int.random(in: 1...6, using: &random)).map { _ in validChunk() }
      let position = Int.random(in: 0..<entries.count, using: &random)
      let prefix = "logs.entries[\(position)]"
      var bad = entries[position]
      let names: String
      // The last kind (one entry over the limit: 4,097 of them) rarely, as above.
      var kind = Int.random(in: 0..<9, using: &random)
      if kind == 8, Int.random(in: 0..<20, using: &random) != 0 { kind = 0 }
      switch kind {
      case 0:
        bad.chunk.sequence = Self.badSequences.randomElement(using: &random) ?? -1
        names = "\(prefix).chunk.sequence"
      case 1:
        bad.chunk.stream = Self.badStreams.randomElement(using: &random) ?? .system
        names = "\(prefix).chunk.stream"
      case 2:
        bad.chunk.finalTask = .with {
          $0.id = node.assignment.taskID
          $0.state = .succeeded
        }
        names = "\(prefix).chunk.final_task"
      case 3:
        bad.chunk.data = Data(count: AgentStreamLimits.maxChunkBytes + 1)
        names = "\(prefix).chunk.data"
      case 4:
        bad.attemptID = Self.badAttemptIDs.randomElement(using: &random) ?? ""
        names = "\(prefix).attempt_id"
      case 5:
        bad.chunk.taskID = Self.badTaskIDs.randomElement(using: &random) ?? ""
        names = "\(prefix).chunk.task_id"
      case 6:
        bad.chunk.attempt = [-1, Int32.min].randomElement(using: &random) ?? -1
        names = "\(prefix).chunk.attempt"
      case 7:
        let time = Self.badTimes.randomElement(using: &random) ?? (0, -1)
        bad.chunk.time = .with {
          $0.seconds = time.seconds
          $0.nanos = time.nanos
        }
        names = "\(prefix).chunk.time"
      default:
        entries = (0...AgentStreamLimits.maxLogEntries).map { _ in node.chunk("", sequence: 0) }
        message.logs.entries = entries
        return (message, (.invalidArgument, "logs.entries: \(entries.count) entries"))
      }
      entries[position] = bad
      message.logs.entries = entries
      return (message, (.invalidArgument, names))
    case 92..<99:
      var updates = (0..<Int.random(in: 1...3, using: &random)).map { _ in validUpdate() }
      let position = Int.random(in: 0..<updates.count, using: &random)
      let prefix = "status.updates[\(position)]"
      let names: String
      var kind = Int.random(in: 0..<6, using: &random)
      if kind == 4, Int.random(in: 0..<20, using: &random) != 0 { kind = 0 }
      switch kind {
      case 0:
        updates[position].state =
          [.UNRECOGNIZED(42), .assigned, .unspecified, .UNRECOGNIZED(-7)].randomElement(
            using: &random
          ) ?? .assigned
        names = "\(prefix).state"
      case 1:
        updates[position].taskID = Self.badTaskIDs.randomElement(using: &random) ?? ""
        names = "\(prefix).task_id"
      case 2:
        updates[position].attemptID = Self.badAttemptIDs.randomElement(using: &random) ?? ""
        names = "\(prefix).attempt_id"
      case 3:
        let time = Self.badTimes.randomElement(using: &random) ?? (0, -1)
        updates[position].time = .with {
          $0.seconds = time.seconds
          $0.nanos = time.nanos
        }
        names = "\(prefix).time"
      case 5:
        // A node may say how its process ended, never what the orchestrator decided. (A
        // terminal update for the fake node's task is only checked, not applied: the bad
        // field refuses the whole message.)
        updates[position].state = .failed
        updates[position].termination =
          [.lost, .cancelled, .preempted, .drained, .UNRECOGNIZED(99)].randomElement(
            using: &random
          ) ?? .lost
        names = "\(prefix).termination"
      default:
        // Small ones: 4,097 long messages would pass the transport's 4 MiB limit.
        updates = (0...AgentStreamLimits.maxStatusUpdates).map { _ in
          var update = validUpdate()
          update.message = ""
          return update
        }
        names = "status.updates: \(updates.count) updates"
      }
      message.status.updates = updates
      return (message, (.invalidArgument, names))
    default:
      message.hello.nodeID = "fuzz"
      message.hello.protocol = OrchionVersion.agentProtocol
      return (message, (.failedPrecondition, "hello"))
    }
  }
}

extension AgentServiceHandlerTests {
  static func residentBytes() -> Int64 {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Int64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
  }

  @Test(
    "10,000 random and boundary messages over every AgentMessage field from an authenticated node: each valid one taken, each bad one refused naming its field; the orchestrator serves throughout with bounded memory and stores only what a node may say"
  )
  func fuzzConnect() async throws {
    try await withFakeNode { node, first in
      var fuzzer = AgentMessageFuzzer(random: SplitMix64(seed: 0xA6E7_F022), node: node)
      var stream = first
      var refused = 0
      var taken = 0
      var reconnects = 0
      let before = Self.residentBytes()
      var peak = before
      for round in 0..<10_000 {
        let (message, expected) = fuzzer.next()
        stream.send(message)
        if let expected {
          refused += 1
          let error = await stream.end()
          #expect(error?.code == expected.code, "round \(round): \(String(describing: error))")
          #expect(
            error?.message.contains(expected.names) == true,
            "round \(round): \(String(describing: error)), expected \(expected.names)"
          )
          // Reconnect; now and then with a hello that is itself bad.
          if reconnects % 50 == 7 {
            let bad = FakeAgentStream(client: node.agent, credential: node.credential)
            bad.send(
              .with {
                $0.hello.nodeID = "fuzz"
                $0.hello.protocol = OrchionVersion.agentProtocol
                $0.hello.running = (0...AgentStreamLimits.maxRunningAttempts).map { _ in
                  .with {
                    $0.taskID = node.assignment.taskID
                    $0.attemptID = node.assignment.attemptID
                  }
                }
              }
            )
            let error = await bad.end()
            #expect(error?.code == .invalidArgument, "\(String(describing: error))")
            #expect(error?.message.contains("hello.running") == true)
          }
          reconnects += 1
          stream = try await node.connect()
        } else {
          taken += 1
        }
        if round % 1_000 == 999 {
          // Serving throughout.
          let nodes = try await node.admin.nodes.listNodes(.init()).nodes
          #expect(nodes.map(\.id) == ["fuzz"], "round \(round)")
          peak = max(peak, Self.residentBytes())
        }
      }
      stream.send(.with { $0.heartbeat = .init() })
      _ = try await stream.next { if case .heartbeatAck = $0.kind { true } else { false } }
      #expect(await stream.close() == nil)
      #expect(refused > 1_000 && taken > 5_000, "refused \(refused), taken \(taken)")

      // What was stored is only what a node may say.
      let output = try await node.output()
      #expect(!output.isEmpty)
      #expect(
        output.allSatisfy {
          ($0.stream == .stdout || $0.stream == .stderr) && !$0.hasFinalTask && !$0.data.isEmpty
            && $0.data.count <= AgentStreamLimits.maxChunkBytes && $0.sequence >= 0
        }
      )
      let task = try await node.admin.tasks.getTask(.with { $0.taskID = node.assignment.taskID })
      #expect(task.task.state == .running)
      #expect(try await node.admin.health.check(.init()).status == .serving)
      // The whole test process (client and orchestrator): bounded, not growing with messages.
      let growth = peak - before
      #expect(growth < 512 << 20, "RSS grew by \(growth >> 20) MiB")
      print("fuzz: \(taken) taken, \(refused) refused, RSS \(before >> 20) → peak \(peak >> 20) MiB")
    }
  }
}
