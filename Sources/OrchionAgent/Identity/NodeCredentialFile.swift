import Foundation
import GRPCCore
import OrchionClient
import OrchionCore
import Synchronization

/// The credential the orchestrator issued this node at registration, kept beside the node ID
/// (`<data-dir>/node-credential-<id>`, mode 0600) so a restarted agent can register as the
/// same node again, and presented on every call (`orchion-node-credential`).
final class NodeCredentialFile: Sendable {
  private let path: String
  private let value: Mutex<String?>

  /// Reads the credential kept for `node` in `directory`, if any.
  init(directory: String, node: NodeID) {
    path = (directory as NSString).appendingPathComponent("node-credential-\(node)")
    value = Mutex(PrivateFile.readText(path))
  }

  var current: String? { value.withLock { $0 } }

  /// Keeps `credential` (in memory at once; on disk, replacing the old one atomically).
  func save(_ credential: String) throws {
    guard !credential.isEmpty, credential != current else { return }
    value.withLock { $0 = credential }
    try PrivateFile.write(Data((credential + "\n").utf8), to: path)
  }
}

/// Presents the node's credential, once it has one, on every call.
struct NodeCredentialInterceptor: ClientInterceptor {
  let credential: NodeCredentialFile

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<
      Output
    >
  ) async throws -> StreamingClientResponse<Output> {
    guard let value = credential.current else { return try await next(request, context) }
    var request = request
    request.metadata.replaceOrAddString(value, forKey: NodeCredential.metadataKey)
    return try await next(request, context)
  }
}
