import GRPCCore
import GRPCInProcessTransport
import OrchionCore
import ServiceLifecycle
import Synchronization

/// Serves the orchestrator's API to clients in the same process, with no sockets: what unit
/// tests of the server use instead of TCP (``Orchestrator/Listener/inProcess``).
///
/// An in-process transport pairs one client with one server, so each ``connect()`` makes a
/// pair and a `GRPCServer` of its own over the orchestrator's services and interceptors (the
/// same values: they share the orchestrator's state). Clients with different tokens are
/// different connections, as over TCP.
final class InProcessListener: Sendable {
  private let services: [any RegistrableRPCService]
  private let interceptors: [any ServerInterceptor]
  private let servers: AsyncStream<GRPCServer<InProcessTransport.Server>>
  private let serve: AsyncStream<GRPCServer<InProcessTransport.Server>>.Continuation
  /// Every server made so far, to stop them at shutdown; `nil` once shut down. A lock, not
  /// an actor: `connect()` is called from synchronous test set-up, and nothing waits under it.
  private let made = Mutex<[GRPCServer<InProcessTransport.Server>]?>([])

  init(services: [any RegistrableRPCService], interceptors: [any ServerInterceptor]) {
    self.services = services
    self.interceptors = interceptors
    (servers, serve) = AsyncStream.makeStream()
  }

  /// A new client connection's transport, served from now on.
  /// - Throws: `unavailable` once the orchestrator shut down.
  func connect() throws(OrchionError) -> InProcessTransport.Client {
    let pair = InProcessTransport()
    let server = GRPCServer(
      transport: pair.server,
      services: services,
      interceptors: interceptors
    )
    let accepted = made.withLock { made -> Bool in
      guard made != nil else { return false }
      made?.append(server)
      return true
    }
    guard accepted else { throw .unavailable("the orchestrator has shut down") }
    serve.yield(server)
    return pair.client
  }

  /// Serves each connection until `shutDown()`; returns once all have ended.
  func run() async {
    await withDiscardingTaskGroup { group in
      for await server in servers {
        group.addTask { try? await server.serve() }
      }
    }
  }

  /// Stops taking connections and RPCs; RPCs under way finish.
  func shutDown() {
    let servers = made.withLock { made in
      defer { made = nil }
      return made ?? []
    }
    serve.finish()
    for server in servers { server.beginGracefulShutdown() }
  }
}

/// Runs an ``InProcessListener`` as a service, like ``GRPCServerService`` runs the TCP server.
struct InProcessListenerService: Service {
  let listener: InProcessListener
  /// Runs before the servers stop taking RPCs (see ``GRPCServerService/beforeShutdown``).
  let beforeShutdown: @Sendable () -> Void

  func run() async throws {
    await withGracefulShutdownHandler {
      await listener.run()
    } onGracefulShutdown: {
      beforeShutdown()
      listener.shutDown()
    }
  }
}
