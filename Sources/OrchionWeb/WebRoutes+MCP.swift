import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore
import OrchionMCP
import OrchionServer
import ServiceLifecycle

/// `/mcp`: the MCP Streamable HTTP endpoint. The origin is checked first (a foreign page gets
/// 403), then the bearer token (401 with `WWW-Authenticate`, 403 for a join token, 429 past the
/// failure limit); only then does the request reach its session. Each session's tools call the
/// API with the credential that opened it.
extension WebRoutes {
  /// The largest request body taken: a tool call with a long prompt fits many times over.
  static let maxMCPRequestBytes = 4 << 20

  func mcp(_ request: Request, _ context: WebRequestContext) async throws -> Response {
    guard let sessions = mcpSessions else {
      return Self.mcpResponse(.error(statusCode: 404, .invalidRequest("MCP is not served here")))
    }
    if let origin = request.headers[.origin], !configuration.mcpOrigins.allows(origin) {
      return Self.mcpResponse(
        .error(
          statusCode: 403,
          .invalidRequest(
            "Forbidden: origin '\(origin.prefix(128))' may not call /mcp (allow it with --mcp-allowed-origin)"
          )
        )
      )
    }
    let authorization = request.headers[.authorization]
    switch await orchestrator.mcpAccess(authorization: authorization, from: context.callerAddress) {
    case .granted:
      break
    case .refused(let message):
      let challenge =
        authorization == nil
        ? "Bearer realm=\"orchion\""
        : "Bearer realm=\"orchion\", error=\"invalid_token\""
      return Self.mcpResponse(
        .error(
          statusCode: 401,
          .invalidRequest("Unauthorized: \(message)"),
          extraHeaders: [HTTPHeaderName.wwwAuthenticate: challenge]
        )
      )
    case .forbidden(let message):
      return Self.mcpResponse(.error(statusCode: 403, .invalidRequest("Forbidden: \(message)")))
    case .limited(let message):
      return Self.mcpResponse(.error(statusCode: 429, .invalidRequest(message)))
    }
    let body: ByteBuffer
    do {
      body = try await request.body.collect(upTo: Self.maxMCPRequestBytes)
    } catch {
      return Self.mcpResponse(
        .error(statusCode: 413, .invalidRequest("the request body is larger than \(Self.maxMCPRequestBytes) bytes"))
      )
    }
    var headers: [String: String] = [:]
    for field in request.headers {
      let name = field.name.canonicalName
      headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
    }
    let forwarded = MCP.HTTPRequest(
      method: request.method.rawValue,
      headers: headers,
      body: body.readableBytes == 0 ? nil : Data(body.readableBytesView),
      path: "/mcp"
    )
    return Self.mcpResponse(await sessions.handle(forwarded, authorization: authorization))
  }

  /// The transport's answer as Hummingbird's: a stream as an SSE body that ends with the
  /// orchestrator's graceful shutdown.
  static func mcpResponse(_ response: MCP.HTTPResponse) -> Response {
    var fields = HTTPFields()
    for (name, value) in response.headers {
      if let name = HTTPField.Name(name) { fields[name] = value }
    }
    fields[.cacheControl] = fields[.cacheControl] ?? "no-store"
    let status = HTTPResponse.Status(code: response.statusCode)
    switch response {
    case .stream(let events, _):
      return Response(
        status: status,
        headers: fields,
        body: ResponseBody { writer in
          // Relayed through a stream of ours, which graceful shutdown can end.
          let (relay, feed) = AsyncStream<Data>.makeStream()
          let pump = Task {
            do {
              for try await event in events { feed.yield(event) }
            } catch {}
            feed.finish()
          }
          defer { pump.cancel() }
          try await withGracefulShutdownHandler {
            for await event in relay { try await writer.write(ByteBuffer(bytes: event)) }
          } onGracefulShutdown: {
            feed.finish()
          }
          try await writer.finish(nil)
        }
      )
    default:
      let data = response.bodyData ?? Data()
      return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
  }
}
