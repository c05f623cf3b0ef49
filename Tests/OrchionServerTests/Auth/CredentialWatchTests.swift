import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Revocation reaches streams that are already open, over real gRPC.
@Suite("Authorization: revoking cuts off open streams", .timeLimit(.minutes(2)))
struct CredentialWatchTests {
  /// Opens an agent stream for `node` and returns how it ended, once it has: the status code,
  /// or `nil` if it ended cleanly. `opened` runs once the orchestrator has welcomed it.
  func agentStream(
    _ client: InProcessClient,
    node: String,
    credential: String,
    opened: @escaping @Sendable () async throws -> Void
  ) async throws -> RPCError.Code? {
    do {
      try await Orchion_V1_AgentService.Client(wrapping: client.grpc).connect(
        metadata: [NodeCredential.metadataKey: "\(credential)"]
      ) { writer in
        try await writer.write(.with {
              $0.hello.nodeID = node
              $0.hello.protocol = OrchionVersion.agentProtocol
            })
        // Keep the request side open: the stream must be ended by the orchestrator.
        try await Task.sleep(for: .seconds(120))
      } onResponse: { response in
        for try await message in response.messages {
          if case .welcome = message.kind { try await opened() }
        }
      }
      return nil
    } catch let error as RPCError {
      return error.code
    }
  }

  @Test("revoking a join token ends the agent stream opened with it: UNAUTHENTICATED")
  func revokedJoinTokenEndsAgentStream() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join })
      let ended = try await running.withClient(token: join.token) {
        client in
        let credential = try await client.nodes.registerNode(.with { $0.nodeID = "n1" }).credential
        return try await agentStream(client, node: "n1", credential: credential) {
          _ = try await admin.tokens.revokeToken(.with { $0.id = join.info.id })
        }
      }
      #expect(ended == .unauthenticated)
    }
  }

  @Test("an admin re-registering a node ends the old holder's agent stream")
  func replacedCredentialEndsAgentStream() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      let ended = try await running.withClient(token: join) { client in
        let credential = try await client.nodes.registerNode(.with { $0.nodeID = "n1" }).credential
        return try await agentStream(client, node: "n1", credential: credential) {
          let fresh = try await admin.nodes.registerNode(.with { $0.nodeID = "n1" }).credential
          #expect(fresh != credential)
        }
      }
      #expect(ended == .unauthenticated)
    }
  }

  @Test("revoking an admin token ends a log follow opened with it; other streams go on")
  func revokedAdminTokenEndsLogFollow() async throws {
    try await withOrchestrator { running, admin in
      let second = try await admin.tokens.createToken(.with { $0.kind = .admin })
      // Pending for ever (no node): the follow would never end on its own.
      let task = try await admin.tasks.submitTask(.with { $0.spec.command = ["true"] }).task
      let ended: RPCError.Code? = try await running.withClient(token: second.token
      ) { client in
        do {
          try await client.tasks.streamTaskLogs(
            .with {
              $0.taskID = task.id
              $0.follow = true
            }
          ) { response in
            // The follow is open once the first call with this token has been answered.
            _ = try await client.tasks.getTask(.with { $0.taskID = task.id })
            _ = try await admin.tokens.revokeToken(.with { $0.id = second.info.id })
            for try await _ in response.messages {}
          }
          return nil
        } catch let error as RPCError {
          return error.code
        }
      }
      #expect(ended == .unauthenticated)
      // The admin's own calls are untouched.
      #expect(try await admin.tasks.getTask(.with { $0.taskID = task.id }).task.id == task.id)
    }
  }
}
