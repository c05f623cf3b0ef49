import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("Authorization: node credentials")
struct NodeCredentialTests {
  func credential(_ value: String?) -> Metadata {
    guard let value else { return [:] }
    return [NodeCredential.metadataKey: "\(value)"]
  }

  @Test(
    "the wrong credential the impersonation test presents never equals the right one",
    arguments: [String(repeating: "f", count: 64), String(repeating: "0", count: 64), "f0", "0f"]
  )
  func wrongCredentialDiffers(right: String) {
    // The old test built it as "f" + the rest: equal whenever the credential began with "f".
    let wrong = DifferentValue.hex(right)
    #expect(wrong != right)
    #expect(wrong.count == right.count)
  }

  @Test("one node cannot act as another: heartbeat, unregister, agent stream, re-registration")
  func nodesCannotImpersonate() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      try await running.withClient(token: join) { client in
        let a = try await client.nodes.registerNode(.with { $0.nodeID = "a" }).credential
        let b = try await client.nodes.registerNode(.with { $0.nodeID = "b" }).credential
        #expect(a != b)

        _ = try await client.nodes.heartbeat(.with { $0.nodeID = "a" }, metadata: credential(a))
        for presented in [a, nil, DifferentValue.hex(b)] as [String?] {
          let beat = await #expect(throws: RPCError.self) {
            try await client.nodes.heartbeat(
              .with { $0.nodeID = "b" },
              metadata: credential(presented)
            )
          }
          #expect(beat?.code == .permissionDenied)
          let leave = await #expect(throws: RPCError.self) {
            try await client.nodes.unregisterNode(
              .with { $0.nodeID = "b" },
              metadata: credential(presented)
            )
          }
          #expect(leave?.code == .permissionDenied)
          let takeover = await #expect(throws: RPCError.self) {
            try await client.nodes.registerNode(
              .with {
                $0.nodeID = "b"
                $0.address = "attacker"
              },
              metadata: credential(presented)
            )
          }
          #expect(takeover?.code == .permissionDenied)
        }
        let stream = await #expect(throws: RPCError.self) {
          try await Orchion_V1_AgentService.Client(wrapping: client.grpc).connect(
            metadata: credential(a)
          ) { writer in
            try await writer.write(.with {
              $0.hello.nodeID = "b"
              $0.hello.protocol = OrchionVersion.agentProtocol
            })
          } onResponse: { response in
            for try await _ in response.messages {}
          }
        }
        #expect(stream?.code == .permissionDenied)

        // B itself re-registers with its credential and keeps it.
        let again = try await client.nodes.registerNode(
          .with { $0.nodeID = "b" },
          metadata: credential(b)
        )
        #expect(again.credential == b)
      }
      // Nothing the refused calls asked for happened.
      let nodes = try await admin.nodes.listNodes(.init()).nodes
      #expect(nodes.map(\.status) == [.active, .active])
      #expect(!nodes.contains { $0.address == "attacker" })
    }
  }

  @Test("an admin acts for any node; re-registering one issues a new credential")
  func adminActsForAnyNode() async throws {
    try await withOrchestrator { running, admin in
      let join = try await admin.tokens.createToken(.with { $0.kind = .join }).token
      let old = try await running.withClient(token: join) { client in
        try await client.nodes.registerNode(.with { $0.nodeID = "n1" }).credential
      }
      _ = try await admin.nodes.heartbeat(.with { $0.nodeID = "n1" })
      let rotated = try await admin.nodes.registerNode(.with { $0.nodeID = "n1" }).credential
      #expect(rotated != old)
      try await running.withClient(token: join) { client in
        let stale = await #expect(throws: RPCError.self) {
          try await client.nodes.heartbeat(.with { $0.nodeID = "n1" }, metadata: credential(old))
        }
        #expect(stale?.code == .permissionDenied)
        _ = try await client.nodes.heartbeat(
          .with { $0.nodeID = "n1" },
          metadata: credential(rotated)
        )
      }
      _ = try await admin.nodes.unregisterNode(.with { $0.nodeID = "n1" })
    }
  }
}
