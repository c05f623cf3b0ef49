import GRPCCore
import GRPCNIOTransportHTTP2
import OrchionAPI
public import OrchionCore
import SwiftProtobuf

/// Finds the leader among several orchestrators sharing one store.
///
/// Every orchestrator answers `grpc.health.v1` checks; only the leader reports
/// `orchion.v1.TaskService` SERVING (followers serve reads but refuse writes). A frozen or dead
/// one does not answer within the timeout and is passed over.
public enum LeaderFinder {
  /// The service whose health names the leader.
  public static let leaderService = "orchion.v1.TaskService"

  /// Asks all `servers` at once; returns the first that says it leads, or `nil`.
  public static func find(
    among servers: [ServerAddress],
    token: String? = nil,
    tls: ClientTLS? = nil,
    timeout: Duration = .seconds(1)
  ) async -> ServerAddress? {
    guard servers.count > 1 else { return servers.first }
    return await withTaskGroup(of: ServerAddress?.self) { group in
      for server in servers {
        group.addTask {
          await leads(server, token: token, tls: tls, timeout: timeout) ? server : nil
        }
      }
      for await answer in group {
        if let answer {
          group.cancelAll()
          return answer
        }
      }
      return nil
    }
  }

  /// Whether `server` says it leads.
  public static func leads(
    _ server: ServerAddress,
    token: String?,
    tls: ClientTLS? = nil,
    timeout: Duration
  ) async -> Bool {
    do {
      return try await withOrchionClient(server: server, token: token, tls: tls) { client in
        var options = CallOptions.defaults
        options.timeout = timeout
        let response = try await client.health.check(
          .with { $0.service = leaderService },
          options: options
        )
        return response.status == .serving
      }
    } catch {
      return false
    }
  }
}

/// Connects to the leader among `servers` (the first when none answers as leader, so the
/// error a caller sees is that server's), runs `body` with a client, and closes it.
public func withOrchionClient<Result: Sendable>(
  servers: [ServerAddress],
  token: String? = nil,
  tls: ClientTLS? = nil,
  _ body: (OrchionNetworkClient) async throws -> Result
) async throws -> Result {
  guard let first = servers.first else {
    throw OrchionError.invalidArgument("no orchestrator address given")
  }
  let leader = await LeaderFinder.find(among: servers, token: token, tls: tls) ?? first
  return try await withOrchionClient(server: leader, token: token, tls: tls, body)
}
