public import GRPCCore
public import MCP
import Synchronization

/// An MCP server over an ``OrchionToolbox``: the tools, the task resources and their
/// subscriptions, one per session. The HTTP endpoint makes one per session with the caller's
/// credential; `orchion mcp` makes one for its stdio.
public enum OrchionMCPServer {
  public static let instructions = """
    Orchion runs commands and coding agents on the machines of one cluster. run_task queues \
    work (count copies at once) and returns task IDs; wait_tasks waits up to 50 s at a time \
    (call it again to keep waiting); get_logs pages through output; get_result says how a \
    task ended; cancel_task stops one. Tasks are also resources: orchion://tasks/{id} and \
    orchion://tasks/{id}/log.
    """

  /// - Parameter authorization: `Bearer <token>` for every API call the session makes (the
  ///   HTTP endpoint's in-process client); `nil` when the client carries its own.
  public static func make<Transport: ClientTransport>(
    toolbox: OrchionToolbox<Transport>,
    authorization: String?,
    version: String
  ) async -> Server {
    let server = Server(
      name: "orchion",
      version: version,
      title: "Orchion",
      instructions: instructions,
      capabilities: .init(
        resources: .init(subscribe: true, listChanged: false),
        tools: .init(listChanged: false)
      )
    )
    // Handlers live in the server: they reach it weakly, so a closed session is freed.
    let reference = ServerReference(server)
    let subscriptions = ResourceSubscriptions(clock: toolbox.clock)
    @Sendable func asCaller<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
      try await CallerAuthorization.$current.withValue(authorization) { try await body() }
    }
    await server.withMethodHandler(ListTools.self) { _ in
      ListTools.Result(tools: ToolCatalog.tools)
    }
    await server.withMethodHandler(CallTool.self) { params in
      let token = params._meta?.progressToken
      let progress = token.map { token -> OrchionToolbox<Transport>.Progress in
        { done, total, message in
          try? await reference.server?.notify(
            ProgressNotification.message(
              .init(progressToken: token, progress: done, total: total, message: message)
            )
          )
        }
      }
      return try await asCaller {
        await toolbox.call(params.name, arguments: params.arguments, progress: progress)
      }
    }
    await server.withMethodHandler(ListResourceTemplates.self) { _ in
      ListResourceTemplates.Result(templates: TaskResourceURI.templates)
    }
    await server.withMethodHandler(ListResources.self) { _ in
      ListResources.Result(resources: try await asCaller { await toolbox.recentTasks() })
    }
    await server.withMethodHandler(ReadResource.self) { params in
      let resource = try resource(params.uri)
      do {
        return ReadResource.Result(contents: [try await asCaller { try await toolbox.read(resource) }])
      } catch let error as RPCError {
        throw MCPError.invalidParams(error.message)
      }
    }
    await server.withMethodHandler(ResourceSubscribe.self) { params in
      let resource = try resource(params.uri)
      do {
        // The first look checks the task exists and the caller may see it.
        _ = try await asCaller { try await toolbox.fingerprint(of: resource) }
      } catch let error as RPCError {
        throw MCPError.invalidParams(error.message)
      }
      try await subscriptions.subscribe(
        resource,
        fingerprint: { try await asCaller { try await toolbox.fingerprint(of: resource) } },
        notify: { uri in
          // A closed session's server is gone: its watches end.
          guard let server = reference.server else { return false }
          try? await server.notify(ResourceUpdatedNotification.message(.init(uri: uri)))
          return true
        },
        alive: { reference.server != nil }
      )
      return Empty()
    }
    await server.withMethodHandler(ResourceUnsubscribe.self) { params in
      await subscriptions.unsubscribe(params.uri)
      return Empty()
    }
    return server
  }

  private static func resource(_ uri: String) throws -> TaskResourceURI {
    guard let resource = TaskResourceURI(uri) else {
      throw MCPError.invalidParams(
        "uri: '\(uri.prefix(128))' is not an Orchion resource (orchion://tasks/{id} or orchion://tasks/{id}/log)"
      )
    }
    return resource
  }
}

/// The server its own handlers call back (notifications), held weakly: a session's server
/// is freed once the session ends, and its watches then stop.
final class ServerReference: Sendable {
  private struct Weak {
    weak var server: Server?
  }
  private let state: Mutex<Weak>

  init(_ server: Server) { state = Mutex(Weak(server: server)) }

  var server: Server? { state.withLock { $0.server } }
}
