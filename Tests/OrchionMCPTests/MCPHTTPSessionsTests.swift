import Foundation
import MCP
import OrchionMCP
import Synchronization
import Testing

/// The HTTP endpoint's sessions: bound to the credential that opened them, ended when idle,
/// bounded in number — on a clock the test moves.
@Suite("MCP HTTP sessions")
struct MCPHTTPSessionsTests {
  final class TestClock: ToolClock {
    private let elapsed = Mutex(Duration.zero)
    func now() -> Duration { elapsed.withLock { $0 } }
    func advance(by duration: Duration) { elapsed.withLock { $0 += duration } }
    func sleep(for duration: Duration) async throws { try await Task.sleep(for: .seconds(3_600)) }
  }

  static let initialize = Data(
    #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
      .utf8
  )
  static let ping = Data(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#.utf8)

  private func sessions(_ clock: TestClock, max: Int = 8, maxBytes: Int = 1 << 20) -> MCPHTTPSessions {
    MCPHTTPSessions(clock: clock, idleTimeout: .seconds(60), maxSessions: max, maxBytesPerSession: maxBytes) { _ in
      Server(name: "test", version: "1")
    }
  }

  private func open(_ sessions: MCPHTTPSessions, as authorization: String?) async throws -> String {
    let response = await sessions.handle(
      HTTPRequest(
        method: "POST",
        headers: ["Content-Type": "application/json", "Accept": "application/json, text/event-stream"],
        body: Self.initialize
      ),
      authorization: authorization
    )
    #expect(response.statusCode == 200)
    return try #require(response.headers[HTTPHeaderName.sessionID])
  }

  private func ping(_ sessions: MCPHTTPSessions, _ id: String, as authorization: String?) async -> Int {
    await sessions.handle(
      HTTPRequest(
        method: "POST",
        headers: [
          "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
          HTTPHeaderName.sessionID: id, HTTPHeaderName.protocolVersion: "2025-11-25",
        ],
        body: Self.ping
      ),
      authorization: authorization
    ).statusCode
  }

  @Test("a session answers only the credential that opened it")
  func boundToCredential() async throws {
    let sessions = sessions(TestClock())
    let id = try await open(sessions, as: "Bearer alice")
    #expect(await ping(sessions, id, as: "Bearer alice") == 200)
    #expect(await ping(sessions, id, as: "Bearer mallory") == 404)
    #expect(await ping(sessions, id, as: nil) == 404)
    #expect(await ping(sessions, "no-such-session", as: "Bearer alice") == 404)
  }

  @Test("without a session only initialize is taken")
  func initializeFirst() async {
    let response = await sessions(TestClock()).handle(
      HTTPRequest(method: "POST", headers: ["Content-Type": "application/json"], body: Self.ping),
      authorization: "Bearer alice"
    )
    #expect(response.statusCode == 400)
  }

  @Test("an idle session ends after the idle timeout; a used one does not")
  func idleExpiry() async throws {
    let clock = TestClock()
    let sessions = sessions(clock)
    let idle = try await open(sessions, as: "Bearer a")
    let busy = try await open(sessions, as: "Bearer a")
    clock.advance(by: .seconds(40))
    #expect(await ping(sessions, busy, as: "Bearer a") == 200)
    clock.advance(by: .seconds(40))
    #expect(await ping(sessions, idle, as: "Bearer a") == 404)
    #expect(await ping(sessions, busy, as: "Bearer a") == 200)
    #expect(await sessions.count == 1)
  }

  @Test("past the most sessions, the longest idle one goes")
  func bounded() async throws {
    let clock = TestClock()
    let sessions = sessions(clock, max: 2)
    let first = try await open(sessions, as: "Bearer a")
    clock.advance(by: .seconds(1))
    let second = try await open(sessions, as: "Bearer a")
    clock.advance(by: .seconds(1))
    #expect(await ping(sessions, first, as: "Bearer a") == 200)
    clock.advance(by: .seconds(1))
    _ = try await open(sessions, as: "Bearer a")
    #expect(await sessions.count == 2)
    #expect(await ping(sessions, second, as: "Bearer a") == 404)
    #expect(await ping(sessions, first, as: "Bearer a") == 200)
  }

  @Test("a session ends once it has sent its byte budget (the SDK keeps every event for replay)")
  func byteBudget() async throws {
    let sessions = sessions(TestClock(), maxBytes: 100)
    let response = await sessions.handle(
      HTTPRequest(
        method: "POST",
        headers: ["Content-Type": "application/json", "Accept": "application/json, text/event-stream"],
        body: Self.initialize
      ),
      authorization: "Bearer a"
    )
    let id = try #require(response.headers[HTTPHeaderName.sessionID])
    guard case .stream(let events, _) = response else {
      Issue.record("initialize did not answer with a stream")
      return
    }
    var sent = 0
    for try await event in events { sent += event.count }
    #expect(sent > 100)
    #expect(await ping(sessions, id, as: "Bearer a") == 404)
    #expect(await sessions.count == 0)
  }

  @Test("DELETE ends the session")
  func delete() async throws {
    let sessions = sessions(TestClock())
    let id = try await open(sessions, as: "Bearer a")
    let deleted = await sessions.handle(
      HTTPRequest(method: "DELETE", headers: [HTTPHeaderName.sessionID: id, HTTPHeaderName.protocolVersion: "2025-11-25"]),
      authorization: "Bearer a"
    )
    #expect(deleted.statusCode == 200)
    #expect(await sessions.count == 0)
    #expect(await ping(sessions, id, as: "Bearer a") == 404)
  }
}
