import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Bearer tokens on the HTTP port, on a manual clock: they grant what the token kind grants,
/// and failures count in the same per-address bucket as on the gRPC port.
@Suite("HTTP bearer access")
struct HTTPAccessTests {
  @Test("guessing on the HTTP port exhausts the address's failures for both ports until they refill")
  func guessingIsLimited() async throws {
    let clock = ManualClock()
    var configuration = Orchestrator.Configuration.testing
    configuration.authentication.failedAuthenticationBurst = 100
    configuration.authentication.failedAuthenticationsPerSecond = 1
    try await withRunningOrchestrator(configuration: configuration, clock: clock) { running, _ in
      let orchestrator = running.orchestrator
      for guess in 0..<100 {
        let access = await orchestrator.httpAccess(authorization: "Bearer guess.\(guess)", from: "127.0.0.1")
        #expect(access == .refused)
      }
      guard case .limited(let message) = await orchestrator.httpAccess(
        authorization: "Bearer guess.more", from: "127.0.0.1")
      else {
        Issue.record("the 101st failure was not limited")
        return
      }
      #expect(message.contains("too many failed authentications from 127.0.0.1"))
      // A valid token is refused too, before it is looked at: on HTTP and on gRPC.
      let valid = await orchestrator.httpAccess(authorization: "Bearer \(testAdminToken)", from: "127.0.0.1")
      guard case .limited = valid else {
        Issue.record("a valid token got \(valid) from a limited address")
        return
      }
      await expectRPCError(.resourceExhausted) {
        try await withOrchionClient(server: running.address, token: testAdminToken) {
          try await $0.tasks.listTasks(.init())
        }
      }
      // Another address is not affected; a second later one failure's worth is back.
      #expect(await orchestrator.httpAccess(authorization: "Bearer \(testAdminToken)", from: "10.0.0.9") == .granted(.admin))
      clock.advance(by: .seconds(1))
      #expect(await orchestrator.httpAccess(authorization: "Bearer \(testAdminToken)", from: "127.0.0.1") == .granted(.admin))
    }
  }

  @Test("join tokens are refused without counting as a guess; without authentication everyone is an admin")
  func kinds() async throws {
    var configuration = Orchestrator.Configuration.testing
    configuration.authentication.failedAuthenticationBurst = 100
    try await withRunningOrchestrator(configuration: configuration) { running, client in
      let join = try await client.tokens.createToken(.with { $0.kind = .join }).token
      let read = try await client.tokens.createToken(.with { $0.kind = .read }).token
      let orchestrator = running.orchestrator
      #expect(await orchestrator.httpAccess(authorization: "Bearer \(read)", from: "127.0.0.1") == .granted(.read))
      for _ in 0..<150 {
        #expect(await orchestrator.httpAccess(authorization: "Bearer \(join)", from: "127.0.0.1") == .refused)
      }
      #expect(await orchestrator.httpAccess(authorization: "Bearer \(read)", from: "127.0.0.1") == .granted(.read))
      #expect(await orchestrator.httpAccess(authorization: nil, from: "127.0.0.1") == .refused)
    }
    var open = Orchestrator.Configuration.testing
    open.authentication = Authentication(enabled: false)
    try await withRunningOrchestrator(configuration: open) { running, _ in
      #expect(await running.orchestrator.httpAccess(authorization: nil, from: "127.0.0.1") == .granted(.admin))
    }
  }
}
