import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the caller's address: failed authentications are counted
/// per address, as on the gRPC port.
struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
  var coreContext: CoreRequestContextStorage
  let remoteAddress: SocketAddress?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    remoteAddress = source.channel.remoteAddress
  }

  /// The caller's IP address without its port (`unknown` if the channel has none).
  var callerAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
