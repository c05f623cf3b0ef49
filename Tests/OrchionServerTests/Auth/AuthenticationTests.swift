import Foundation
import GRPCCore
import Logging
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionStore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// One valid-looking request for every unary RPC but health, so a refusal can only be auth's.
let everyUnaryCall: [(service: String, method: String, body: [UInt8])] = {
  func bytes(_ message: some SwiftProtobuf.Message) -> [UInt8] {
    (try? message.serializedBytes()) ?? []
  }
  let node = "orchion.v1.NodeService"
  let task = "orchion.v1.TaskService"
  let tokens = "orchion.v1.TokenService"
  let secrets = "orchion.v1.SecretService"
  let router = "orchion.v1.RouterService"
  return [
    (node, "RegisterNode", bytes(Orchion_V1_RegisterNodeRequest.with { $0.nodeID = "n1" })),
    (node, "Heartbeat", bytes(Orchion_V1_HeartbeatRequest.with { $0.nodeID = "n1" })),
    (node, "UnregisterNode", bytes(Orchion_V1_UnregisterNodeRequest.with { $0.nodeID = "n1" })),
    (node, "ListNodes", []),
    (node, "GetNode", bytes(Orchion_V1_GetNodeRequest.with { $0.nodeID = "n1" })),
    (node, "CordonNode", bytes(Orchion_V1_CordonNodeRequest.with { $0.nodeID = "n1" })),
    (node, "UncordonNode", bytes(Orchion_V1_UncordonNodeRequest.with { $0.nodeID = "n1" })),
    (node, "DrainNode", bytes(Orchion_V1_DrainNodeRequest.with { $0.nodeID = "n1" })),
    (
      task, "SubmitTask",
      bytes(Orchion_V1_SubmitTaskRequest.with { $0.spec.command = ["true"] })
    ),
    (task, "GetTask", bytes(Orchion_V1_GetTaskRequest.with { $0.taskID = "t" })),
    (task, "ListTasks", []),
    (task, "CancelTask", bytes(Orchion_V1_CancelTaskRequest.with { $0.taskID = "t" })),
    (tokens, "CreateToken", bytes(Orchion_V1_CreateTokenRequest.with { $0.kind = .admin })),
    (tokens, "ListTokens", []),
    (tokens, "RevokeToken", bytes(Orchion_V1_RevokeTokenRequest.with { $0.id = "abc" })),
    (
      secrets, "SetSecret",
      bytes(
        Orchion_V1_SetSecretRequest.with {
          $0.name = "s"
          $0.value = Data("v".utf8)
        }
      )
    ),
    (secrets, "ListSecrets", []),
    (secrets, "DeleteSecret", bytes(Orchion_V1_DeleteSecretRequest.with { $0.name = "s" })),
    (
      router, "Send",
      bytes(
        Orchion_V1_SendRequest.with {
          $0.to = "queue/q"
          $0.payload = Data("p".utf8)
        }
      )
    ),
    (router, "Ack", bytes(Orchion_V1_AckRequest.with { $0.deliveryIds = ["m1"] })),
    (router, "ListMailboxes", []),
  ]
}()

/// Sends `body` to `service/method` as raw bytes and returns the status code.
func statusOfRawCall(
  _ client: InProcessClient,
  service: String,
  method: String,
  body: [UInt8],
  metadata: Metadata = [:]
) async -> RPCError.Code? {
  do {
    _ = try await client.grpc.unary(
      request: ClientRequest(message: body, metadata: metadata),
      descriptor: MethodDescriptor(fullyQualifiedService: service, method: method),
      serializer: RawBytesSerializer(),
      deserializer: RawBytesDeserializer(),
      options: .defaults
    ) { try $0.message }
    return nil
  } catch let error as RPCError {
    return error.code
  } catch {
    return .unknown
  }
}

@Suite("Authentication: tokens")
struct AuthenticationTests {
  @Test(
    "every RPC without a token or with a wrong one is UNAUTHENTICATED and does nothing; health needs none",
    arguments: [nil, "", "wrong", "0123456789.wrong", testAdminToken + "x"] as [String?]
  )
  func unauthenticated(token: String?) async throws {
    try await withOrchestrator { running, admin in
      try await running.withClient(token: token) { client in
        for call in everyUnaryCall {
          let code = await statusOfRawCall(
            client,
            service: call.service,
            method: call.method,
            body: call.body
          )
          #expect(code == .unauthenticated, "\(call.service)/\(call.method)")
        }
        await #expect(throws: RPCError.self) {
          try await client.tasks.streamTaskLogs(.with { $0.taskID = "t" }) { response in
            for try await _ in response.messages {}
          }
        }
        let agentStream = await #expect(throws: RPCError.self) {
          try await Orchion_V1_AgentService.Client(wrapping: client.grpc).connect { writer in
            try await writer.write(.with {
              $0.hello.nodeID = "n1"
              $0.hello.protocol = OrchionVersion.agentProtocol
            })
          } onResponse: { response in
            for try await _ in response.messages {}
          }
        }
        #expect(agentStream?.code == .unauthenticated)
        let health = try await client.health.check(.init()).status
        #expect(health == .serving)
      }
      #expect(try await admin.nodes.listNodes(.init()).nodes.isEmpty)
      #expect(try await admin.tasks.listTasks(.init()).tasks.isEmpty)
      #expect(try await admin.tokens.listTokens(.init()).tokens.isEmpty)
      #expect(try await admin.secrets.listSecrets(.init()).secrets.isEmpty)
      let mailboxes = try await admin.router.listMailboxes(.init()).mailboxes
      #expect(mailboxes.isEmpty)
    }
  }

  @Test("a join token registers nodes and runs agents, and can do nothing else")
  func joinTokenScope() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      try await running.withClient(token: join) { client in
        let registered = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
        #expect(registered.credential.count == 64)
        for call in everyUnaryCall
        where !["RegisterNode", "Heartbeat", "UnregisterNode"].contains(call.method) {
          let code = await statusOfRawCall(
            client,
            service: call.service,
            method: call.method,
            body: call.body
          )
          #expect(code == .permissionDenied, "\(call.service)/\(call.method)")
        }
      }
      #expect(try await admin.tasks.listTasks(.init()).tasks.isEmpty)
      #expect(try await admin.tokens.listTokens(.init()).tokens.count == 1)
    }
  }

  @Test("tokens: shown once, listed without their secret, revoked at once, expired on time")
  func tokenLifecycle() async throws {
    let clock = ManualClock()
    try await withOrchestrator(clock: clock) { running, admin in
      let created = try await admin.tokens.createToken(
        .with {
          $0.kind = .admin
          $0.description_p = "ci"
        }
      )
      #expect(created.token.hasPrefix(created.info.id + "."))
      clock.advance(by: .seconds(1))
      let shortLived = try await admin.tokens.createToken(
        .with {
          $0.kind = .admin
          $0.ttl = .with { $0.seconds = 60 }
        }
      )
      let listed = try await admin.tokens.listTokens(.init())
      #expect(listed.tokens.map(\.id) == [created.info.id, shortLived.info.id])
      #expect(listed.tokens.first?.description_p == "ci")
      #expect(!(try listed.jsonString()).contains(created.token.split(separator: ".")[1]))

      func works(_ token: String) async -> Bool {
        (try? await running.withClient(token: token) { client in
          try await client.nodes.listNodes(.init())
        }) != nil
      }
      #expect(await works(created.token))
      #expect(await works(shortLived.token))
      clock.advance(by: .seconds(61))
      #expect(await !works(shortLived.token))
      _ = try await admin.tokens.revokeToken(.with { $0.id = created.info.id })
      #expect(await !works(created.token))

      let unknown = await #expect(throws: RPCError.self) {
        try await admin.tokens.revokeToken(.with { $0.id = created.info.id })
      }
      #expect(unknown?.code == .notFound)
      let badKind = await #expect(throws: RPCError.self) {
        try await admin.tokens.createToken(.init())
      }
      #expect(badKind?.code == .invalidArgument)
    }
  }

  @Test("tokens survive a restart and are stored hashed: the database never holds one")
  func tokensDurableAndHashed() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-auth-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.store = .sqlite(path: directory + "/orchion.db")
    }
    let token = try await withOrchestrator(configuration: configuration) { _, admin in
      try await admin.tokens.createToken(.with { $0.kind = .join }).token
    }
    let secretPart = String(token.split(separator: ".")[1])
    for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
      let data = FileManager.default.contents(atPath: directory + "/" + file) ?? Data()
      #expect(data.range(of: Data(secretPart.utf8)) == nil, "\(file) holds the token")
    }
    try await withOrchestrator(configuration: configuration) { running, _ in
      try await running.withClient(token: token) { client in
        _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      }
    }
  }

  @Test(
    "first tokens: stored only once handed out, in one commit; a failed hand-out stores none; never twice"
  )
  func bootstrapTokens() async throws {
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.authentication.adminTokens = []
    }
    struct HandOutFailed: Error {}
    try await withOrchestrator(configuration: configuration) { running, _ in
      let orchestrator = running.orchestrator
      await #expect(throws: HandOutFailed.self) {
        _ = try await orchestrator.bootstrapTokens { _ in throw HandOutFailed() }
      }
      #expect(orchestrator.tokens?.isEmpty == true)

      var handedOut: BootstrapTokens?
      let created = try #require(try await orchestrator.bootstrapTokens { handedOut = $0 })
      #expect(handedOut?.admin == created.admin && handedOut?.join == created.join)
      #expect(try await orchestrator.bootstrapTokens { _ in Issue.record("made twice") } == nil)
      let stored = try await orchestrator.store.records(.token)
      #expect(stored.count == 2)

      try await running.withClient(token: created.admin) { admin in
        let listed = try await admin.tokens.listTokens(.init()).tokens
        #expect(Set(listed.map(\.kind)) == [.admin, .join])
      }
      try await running.withClient(token: created.join) { join in
        let refused = await #expect(throws: RPCError.self) {
          try await join.tokens.listTokens(.init())
        }
        #expect(refused?.code == .permissionDenied)
      }
    }
  }

  @Test(
    "registrations are bounded per join token, not for admins: RESOURCE_EXHAUSTED, then allowed again"
  )
  func registrationRateLimit() async throws {
    let clock = ManualClock()
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.authentication.registrationBurst = 3
      $0.authentication.registrationsPerSecond = 1
    }
    try await withOrchestrator(configuration: configuration, clock: clock) { running, admin in
      // An admin joining many nodes is not limited.
      for index in 0..<10 {
        _ = try await admin.nodes.registerNode(.with { $0.nodeID = "admin-\(index)" })
      }
      let first = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      let second = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      try await running.withClient(token: first) { client in
        for index in 0..<3 {
          _ = try await client.nodes.registerNode(.with { $0.nodeID = "n\(index)" })
        }
        let message = await expectRPCError(.resourceExhausted) {
          try await client.nodes.registerNode(.with { $0.nodeID = "n3" })
        }
        #expect(message.contains("join token"), "\(message)")
      }
      // Another token, from the same address (a lab behind one NAT), has its own allowance.
      try await running.withClient(token: second) { client in
        _ = try await client.nodes.registerNode(.with { $0.nodeID = "other" })
      }
      #expect(try await admin.nodes.listNodes(.init()).nodes.count == 14)
      clock.advance(by: .seconds(1))
      try await running.withClient(token: first) { client in
        _ = try await client.nodes.registerNode(.with { $0.nodeID = "n3" })
      }
    }
  }

  @Test("failed authentications are bounded per address: then even a valid token waits")
  func failedAuthenticationLimit() async throws {
    let clock = ManualClock()
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.authentication.failedAuthenticationBurst = 5
      $0.authentication.failedAuthenticationsPerSecond = 1
    }
    // Over TCP: the limit is per peer address.
    try await withRunningOrchestrator(configuration: configuration, clock: clock) {
      running, admin in
      try await withOrchionClient(server: running.address, token: "guess.guess") { guesser in
        for _ in 0..<5 {
          _ = await expectRPCError(.unauthenticated) { try await guesser.nodes.listNodes(.init()) }
        }
        let message = await expectRPCError(.resourceExhausted) {
          try await guesser.nodes.listNodes(.init())
        }
        #expect(message.contains("failed authentications from 127.0.0.1"), "\(message)")
      }
      // The address is refused whatever it presents, until the bucket refills.
      _ = await expectRPCError(.resourceExhausted) { try await admin.nodes.listNodes(.init()) }
      clock.advance(by: .seconds(1))
      #expect(try await admin.nodes.listNodes(.init()).nodes.isEmpty)
    }
  }

  @Test("no authentication is refused beyond loopback, and allowed on it")
  func noAuthOnlyOnLoopback() async throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    for host in ["0.0.0.0", "::", "10.1.2.3"] {
      let configuration = Orchestrator.Configuration.testing.updating {
        $0.host = host
        $0.authentication.enabled = false
      }
      let refused = await #expect(throws: OrchionError.self) {
        _ = try await Orchestrator(configuration: configuration, logger: logger)
      }
      #expect(refused?.code == .failedPrecondition)
      #expect(refused?.message.contains("without authentication") == true)
    }
    let open = Orchestrator.Configuration.testing.updating { $0.authentication.enabled = false }
    try await withOrchestrator(configuration: open) { running, _ in
      try await running.withClient(token: nil) { client in
        _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      }
    }
  }
}
