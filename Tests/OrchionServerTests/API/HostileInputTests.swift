import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Sends raw bytes as a message body, so tests can send what no generated client would.
struct RawBytesSerializer: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct RawBytesDeserializer: MessageDeserializer {
  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
    serializedMessageBytes.withUnsafeBytes { Array($0) }
  }
}

// Serialized: three fuzzers at once would load a 2-core machine enough to upset the timing of
// the failover tests running beside them.
@Suite("Hostile input", .serialized)
struct HostileInputTests {
  static let methods = [
    "RegisterNode", "Heartbeat", "UnregisterNode", "ListNodes", "GetNode", "CordonNode",
    "UncordonNode", "DrainNode",
  ]

  func sendRaw<Transport: ClientTransport>(
    _ client: OrchionClient<Transport>,
    service: String = "orchion.v1.NodeService",
    method: String,
    bytes: [UInt8]
  ) async -> Result<[UInt8], RPCError> {
    do {
      let response = try await client.grpc.unary(
        request: ClientRequest(message: bytes),
        descriptor: MethodDescriptor(
          fullyQualifiedService: service,
          method: method
        ),
        serializer: RawBytesSerializer(),
        deserializer: RawBytesDeserializer(),
        options: .defaults
      ) { try $0.message }
      return .success(response)
    } catch let error as RPCError {
      return .failure(error)
    } catch {
      return .failure(RPCError(code: .unknown, message: "\(error)"))
    }
  }

  @Test(
    "2,000 random and mutated bodies: only OK or INVALID_ARGUMENT/NOT_FOUND/FAILED_PRECONDITION, and the server keeps serving"
  )
  func randomBodies() async throws {
    try await withOrchestrator { running, client in
      var generator = SplitMix64(seed: 0x0C4E_1A7E)
      let valid =
        try Orchion_V1_RegisterNodeRequest.with {
          $0.nodeID = "seed"
          $0.labels = ["a": "b"]
          $0.resources.cpuMillis = 1000
        }.serializedBytes() as [UInt8]
      var successfulRegistrations = Set<String>()
      for round in 0..<2_000 {
        let method = Self.methods[round % Self.methods.count]
        var bytes: [UInt8]
        if round.isMultiple(of: 2) {
          bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in
            UInt8.random(in: 0...255, using: &generator)
          }
        } else {
          bytes = valid
          for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] = UInt8.random(in: 0...255, using: &generator)
          }
        }
        let result = await sendRaw(client, method: method, bytes: bytes)
        switch result {
        case .success(let body):
          if method == "RegisterNode" {
            let response = try Orchion_V1_RegisterNodeResponse(serializedBytes: body)
            successfulRegistrations.insert(response.node.id)
          }
        case .failure(let error):
          #expect(
            [.invalidArgument, .notFound, .failedPrecondition, .resourceExhausted].contains(
              error.code
            ),
            "round \(round) \(method): \(error)"
          )
        }
      }
      // Only the registrations that answered OK exist, and the server still serves.
      let nodes = try await client.nodes.listNodes(.init()).nodes
      #expect(Set(nodes.map(\.id)) == successfulRegistrations)
      #expect(try await client.health.check(.init()).status == .serving)
      _ = running
    }
  }

  @Test(
    "1,000 random and mutated SubmitTask bodies with every scheduling field: only OK or INVALID_ARGUMENT; exactly the accepted tasks exist"
  )
  func randomTaskSpecs() async throws {
    try await withOrchestrator { _, client in
      var generator = SplitMix64(seed: 0x7A5C_5EED)
      let valid =
        try Orchion_V1_SubmitTaskRequest.with {
          $0.spec = .with {
            $0.command = ["true"]
            $0.constraints = ["gpu in (a100,t4)", "!spot", "zone!=eu"]
            $0.strategy = "spread"
            $0.retryExitCodes = [75]
            $0.retryBackoff.seconds = 2
            $0.resources.extended = ["tool/claude": 1]
            $0.priority = 60
            $0.preemptible = true
          }
        }.serializedBytes() as [UInt8]
      var accepted = Set<String>()
      for round in 0..<1_000 {
        var bytes = valid
        if round.isMultiple(of: 4) {
          bytes = (0..<Int.random(in: 0...96, using: &generator)).map { _ in
            UInt8.random(in: 0...255, using: &generator)
          }
        } else {
          for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] = UInt8.random(in: 0...255, using: &generator)
          }
        }
        let result = await sendRaw(
          client,
          service: "orchion.v1.TaskService",
          method: "SubmitTask",
          bytes: bytes
        )
        switch result {
        case .success(let body):
          accepted.insert(try Orchion_V1_SubmitTaskResponse(serializedBytes: body).task.id)
        case .failure(let error):
          #expect(error.code == .invalidArgument, "round \(round): \(error)")
        }
      }
      let listed = try await client.tasks.listTasks(.with { $0.pageSize = 1000 }).tasks
      #expect(Set(listed.map(\.id)) == accepted)
      #expect(try await client.health.check(.init()).status == .serving)
    }
  }

  @Test("oversized labels and metadata: INVALID_ARGUMENT naming the field, nothing registered")
  func oversizedMaps() async throws {
    try await withOrchestrator { _, client in
      let message = await expectRPCError(.invalidArgument) {
        try await client.nodes.registerNode(
          .with {
            $0.nodeID = "big"
            $0.metadata = Dictionary(uniqueKeysWithValues: (0..<1000).map { ("k\($0)", "v") })
          }
        )
      }
      #expect(message.contains("metadata"))
      _ = await expectRPCError(.invalidArgument) {
        try await client.nodes.registerNode(
          .with { $0.labels = ["k": String(repeating: "x", count: 100_000)] }
        )
      }
      let nodes = try await client.nodes.listNodes(.init()).nodes
      #expect(nodes.isEmpty)
    }
  }

  @Test("control characters in IDs are refused and escaped in the message")
  func controlCharacters() async throws {
    try await withOrchestrator { _, client in
      for id in ["a\u{0}b", "\u{1B}[2J", "tab\there", "line\nbreak", "del\u{7F}"] {
        let message = await expectRPCError(.invalidArgument) {
          try await client.nodes.registerNode(.with { $0.nodeID = id })
        }
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
      }
      let nodes = try await client.nodes.listNodes(.init()).nodes
      #expect(nodes.isEmpty)
    }
  }

  @Test(
    "2,000 random and mutated requests to every RPC, as admin, join, no and garbage tokens: never UNKNOWN or INTERNAL, and the server keeps serving"
  )
  func everyRPC() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      var generator = SplitMix64(seed: 0x5EC0_F022)
      func randomBytes(_ count: ClosedRange<Int>) -> [UInt8] {
        (0..<Int.random(in: count, using: &generator)).map { _ in
          UInt8.random(in: 0...255, using: &generator)
        }
      }
      try await running.withClient(token: nil) { bare in
        for round in 0..<2_000 {
          let call = everyUnaryCall[round % everyUnaryCall.count]
          var body = call.body
          if body.isEmpty || round.isMultiple(of: 3) {
            body = randomBytes(0...96)
          } else {
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
              body[Int.random(in: 0..<body.count, using: &generator)] = UInt8.random(
                in: 0...255,
                using: &generator
              )
            }
          }
          let authorization: String? =
            switch round % 4 {
            case 0: "Bearer \(testAdminToken)"
            case 1: "Bearer \(join)"
            case 2: nil
            default: String(decoding: randomBytes(0...300), as: UTF8.self)
            }
          var metadata: Metadata = [:]
          if let authorization { metadata.addString(authorization, forKey: "authorization") }
          if round.isMultiple(of: 5) {
            metadata.addString(
              String(decoding: randomBytes(0...80), as: UTF8.self),
              forKey: NodeCredential.metadataKey
            )
          }
          let code = await statusOfRawCall(
            bare,
            service: call.service,
            method: call.method,
            body: body,
            metadata: metadata
          )
          #expect(
            code != .unknown && code != .internalError,
            "round \(round) \(call.service)/\(call.method): \(String(describing: code))"
          )
        }
        // The agent stream and the log stream get random frames too.
        for round in 0..<100 {
          let frames = (0..<Int.random(in: 1...5, using: &generator)).map { _ in
            randomBytes(0...64)
          }
          var metadata: Metadata = [:]
          metadata.addString(
            "Bearer \(round.isMultiple(of: 2) ? testAdminToken : join)",
            forKey: "authorization"
          )
          let streams = [
            ("orchion.v1.AgentService", "Connect"), ("orchion.v1.TaskService", "StreamTaskLogs"),
            ("orchion.v1.RouterService", "Subscribe"), ("orchion.v1.RouterService", "SendStream"),
          ]
          let (service, method) = streams[round % streams.count]
          let descriptor = MethodDescriptor(fullyQualifiedService: service, method: method)
          do {
            try await bare.grpc.bidirectionalStreaming(
              request: StreamingClientRequest(metadata: metadata) { writer in
                for frame in frames { try await writer.write(frame) }
              },
              descriptor: descriptor,
              serializer: RawBytesSerializer(),
              deserializer: RawBytesDeserializer(),
              options: .defaults
            ) { response in
              for try await _ in response.messages {}
            }
          } catch let error as RPCError {
            #expect(
              error.code != .unknown && error.code != .internalError,
              "stream round \(round): \(error)"
            )
          }
        }
      }
      let health = try await admin.health.check(.init()).status
      #expect(health == .serving)
      _ = try await admin.nodes.listNodes(.init())
    }
  }

  @Test(
    "a request over the size limit is RESOURCE_EXHAUSTED naming the limit, changes nothing, and the server keeps serving"
  )
  func oversizedRequest() async throws {
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.maxRequestBytes = 64 * 1024
    }
    // Over TCP: the size limits in question are the HTTP/2 transport's.
    try await withRunningOrchestrator(configuration: configuration) { _, client in
      let big = Orchion_V1_RegisterNodeRequest.with {
        $0.nodeID = "big"
        $0.address = String(repeating: "a", count: 100_000)
      }
      let message = await expectRPCError(.resourceExhausted) {
        try await client.nodes.registerNode(big)
      }
      #expect(message.contains("limit of 65536 bytes"), "\(message)")
      // Far beyond it (past the transport's own, higher limit) the transport resets the
      // stream: still refused, still nothing changed.
      let result = await sendRaw(
        client,
        method: "RegisterNode",
        bytes: Array(repeating: 0x41, count: 2_000_000)
      )
      guard case .failure(let error) = result else {
        Issue.record("oversized request accepted")
        return
      }
      #expect([.resourceExhausted, .unavailable, .cancelled].contains(error.code), "\(error)")
      let nodes = try await client.nodes.listNodes(.init()).nodes
      #expect(nodes.isEmpty)
      let health = try await client.health.check(.init()).status
      #expect(health == .serving)
    }
  }
}
