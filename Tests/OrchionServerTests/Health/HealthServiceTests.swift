import GRPCCore
import Logging
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import ServiceLifecycle
import SwiftProtobuf
import Testing

@Suite("grpc.health.v1.Health")
struct HealthServiceTests {
  @Test("Check: the server and each service are SERVING; an unknown service is NOT_FOUND")
  func check() async throws {
    try await withOrchestrator { _, client in
      let server = try await client.health.check(.init()).status
      let service = try await client.health.check(.with { $0.service = "orchion.v1.NodeService" })
      #expect(server == .serving)
      #expect(service.status == .serving)
      _ = await expectRPCError(.notFound) {
        try await client.health.check(.with { $0.service = "no.such.Service" })
      }
    }
  }

  @Test("Watch: SERVING at once, NOT_SERVING on shutdown, and the stream does not hold shutdown up")
  func watchAcrossShutdown() async throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let orchestrator = try await Orchestrator(configuration: .testing, logger: logger)
    let group = ServiceGroup(configuration: .init(services: orchestrator.services, logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let port = try await orchestrator.listeningPort()
      let seen = try await withOrchionClient(server: .init(host: "127.0.0.1", port: port)) {
        client in
        try await client.health.watch(.init()) { response in
          var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
          for try await message in response.messages {
            statuses.append(message.status)
            if statuses.count == 1 { await group.triggerGracefulShutdown() }
          }
          return statuses
        }
      }
      #expect(seen == [.serving, .notServing])
      try await tasks.waitForAll()
    }
  }

  @Test("Watch on an unknown service reports SERVICE_UNKNOWN and keeps the stream open")
  func watchUnknown() async throws {
    try await withOrchestrator { running, client in
      let first = try await client.health.watch(.with { $0.service = "later.Service" }) {
        response in
        var iterator = response.messages.makeAsyncIterator()
        let first = try await iterator.next()?.status
        running.orchestrator.health.set(.serving, for: "later.Service")
        let second = try await iterator.next()?.status
        return [first, second]
      }
      #expect(first == [.serviceUnknown, .serving])
    }
  }

  @Test("Watch on a huge unknown name is answered at once and not kept: the stream ends")
  func watchHugeUnknown() async throws {
    try await withOrchestrator { _, client in
      let name = String(repeating: "x", count: HealthStatusBoard.maxServiceNameBytes + 1)
      let seen = try await client.health.watch(.with { $0.service = name }) { response in
        var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
        for try await message in response.messages { statuses.append(message.status) }
        return statuses
      }
      #expect(seen == [.serviceUnknown])
    }
  }
}
