import Foundation
public import MCP
import Synchronization

/// The Streamable HTTP endpoint's sessions, independent of the HTTP server: an `initialize`
/// without a session starts one (its own ``StatefulHTTPServerTransport`` and MCP server, bound
/// to the credential that started it); every later request names its session in
/// `Mcp-Session-Id` and must present that same credential, or the session is not found for
/// it. Idle sessions end after ``idleTimeout``; past ``maxSessions`` the longest idle goes.
/// The SDK's transport keeps every event it sent for replay for the session's life, so a
/// session ends once it has sent ``maxBytesPerSession``: the client initializes a new one.
public actor MCPHTTPSessions {
  /// Makes a session's server for a caller presenting `authorization`.
  public typealias ServerFactory = @Sendable (_ authorization: String?) async -> Server

  private struct Session {
    let server: Server
    let transport: StatefulHTTPServerTransport
    let authorization: String?
    var lastUsed: Duration
    let sent = SentBytes()
  }

  private var sessions: [String: Session] = [:]
  private let makeServer: ServerFactory
  private let clock: any ToolClock
  public let idleTimeout: Duration
  public let maxSessions: Int
  public let maxBytesPerSession: Int

  public init(
    clock: any ToolClock = ContinuousToolClock(),
    idleTimeout: Duration = .seconds(30 * 60),
    maxSessions: Int = 256,
    maxBytesPerSession: Int = 64 << 20,
    makeServer: @escaping ServerFactory
  ) {
    self.maxBytesPerSession = maxBytesPerSession
    self.clock = clock
    self.idleTimeout = idleTimeout
    self.maxSessions = maxSessions
    self.makeServer = makeServer
  }

  public var count: Int { sessions.count }

  /// Answers one request to the endpoint. The caller has checked `authorization` and the
  /// request's origin.
  public func handle(_ request: HTTPRequest, authorization: String?) async -> HTTPResponse {
    await expireIdle()
    let now = clock.now()
    if let id = request.header(HTTPHeaderName.sessionID) {
      guard var session = sessions[id], Self.same(session.authorization, authorization) else {
        return .error(statusCode: 404, .invalidRequest("Not Found: no such session (it ended, expired or belongs to another credential); initialize a new one"))
      }
      guard session.sent.total < maxBytesPerSession else {
        await close(id)
        return .error(statusCode: 404, .invalidRequest("Not Found: the session sent its \(maxBytesPerSession >> 20) MiB; initialize a new one"))
      }
      session.lastUsed = now
      sessions[id] = session
      let response = await session.transport.handleRequest(request)
      if request.method.uppercased() == "DELETE", response.statusCode == 200 {
        sessions.removeValue(forKey: id)
        await session.server.stop()
      }
      return Self.counting(response, into: session.sent)
    }
    guard request.method.uppercased() == "POST", let body = request.body, Self.isInitialize(body) else {
      return .error(statusCode: 400, .invalidRequest("Bad Request: no \(HTTPHeaderName.sessionID) header, and not an initialize request"))
    }
    if sessions.count >= maxSessions, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
      await close(oldest.key)
    }
    let id = UUID().uuidString
    let transport = StatefulHTTPServerTransport(
      sessionIDGenerator: FixedSessionID(id: id),
      // The origin is checked before: the allow-list is the orchestrator's.
      validationPipeline: StandardValidationPipeline(validators: [
        AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(),
        SessionValidator(),
      ])
    )
    let server = await makeServer(authorization)
    do {
      try await server.start(transport: transport)
    } catch {
      return .error(statusCode: 500, .internalError("could not start the session: \(error)"))
    }
    let response = await transport.handleRequest(request)
    guard response.statusCode == 200 else {
      await server.stop()
      return response
    }
    let session = Session(server: server, transport: transport, authorization: authorization, lastUsed: now)
    sessions[id] = session
    return Self.counting(response, into: session.sent)
  }

  /// Ends every session: their streams close (graceful shutdown).
  public func closeAll() async {
    for id in Array(sessions.keys) { await close(id) }
  }

  private func close(_ id: String) async {
    guard let session = sessions.removeValue(forKey: id) else { return }
    await session.server.stop()
  }

  private func expireIdle() async {
    let now = clock.now()
    for (id, session) in sessions where now - session.lastUsed > idleTimeout {
      await close(id)
    }
  }

  /// The response, its stream's bytes added to `sent` as they go out.
  private static func counting(_ response: HTTPResponse, into sent: SentBytes) -> HTTPResponse {
    switch response {
    case .stream(let events, let headers):
      let counted = AsyncThrowingStream<Data, any Error> { continuation in
        let relay = Task {
          do {
            for try await event in events {
              sent.add(event.count)
              continuation.yield(event)
            }
            continuation.finish()
          } catch {
            continuation.finish(throwing: error)
          }
        }
        continuation.onTermination = { _ in relay.cancel() }
      }
      return .stream(counted, headers: headers)
    case .data(let data, _):
      sent.add(data.count)
      return response
    default:
      return response
    }
  }

  private static func isInitialize(_ body: Data) -> Bool {
    guard let message = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
      return false
    }
    return message["method"] as? String == "initialize" && message["id"] != nil
  }

  /// Compares credentials in time independent of where they differ.
  private static func same(_ a: String?, _ b: String?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    let (x, y) = (Array(a.utf8), Array(b.utf8))
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
  }
}

/// What a session has sent so far, counted as its streams are written.
private final class SentBytes: Sendable {
  private let count = Mutex(0)
  var total: Int { count.withLock { $0 } }
  func add(_ bytes: Int) { count.withLock { $0 &+= bytes } }
}

private struct FixedSessionID: SessionIDGenerator {
  let id: String
  func generateSessionID() -> String { id }
}
