import Foundation
import OrchionCore

/// A private cluster a bench starts for itself from the real `orchion`: an orchestrator on a
/// free loopback port with a token of its own and its state in a scratch directory, and the
/// agents the bench asks for. `stop()` kills them all and removes the directory.
final class BenchCluster {
  let directory: String
  let address: ServerAddress
  let token: String
  let server: BenchProcess
  private var agents: [BenchProcess] = []
  /// Bumped per agent started, so an agent started again under a name gets a fresh data dir.
  private var generation = 0

  /// Starts the orchestrator (`orchion server`), logging to `server.log` in the directory.
  /// - Parameters:
  ///   - name: Names the scratch directory.
  ///   - serverArguments: Flags on top of the port, data dir and token.
  ///   - logged: Whether the processes' output goes to log files (else it is discarded).
  ///   - httpPort: The HTTP server's port (0: a free one, unknown to the bench).
  init(
    _ name: String,
    serverArguments: [String] = [],
    logged: Bool = true,
    httpPort: Int = 0
  ) throws {
    directory = try BenchEnvironment.scratchDirectory(name)
    let port = try BenchEnvironment.freePort()
    address = ServerAddress(host: "127.0.0.1", port: port)
    token = "bench-\(UUID().uuidString)"
    self.logged = logged
    server = try BenchProcess(
      [
        "server", "--port", "\(port)", "--http-port", "\(httpPort)", "--data-dir", directory + "/server",
        "--token", token,
      ]
        + serverArguments,
      logPath: logged ? directory + "/server.log" : nil
    )
  }

  private let logged: Bool

  /// Starts `orchion agent --id id` against the orchestrator, with a data dir of its own.
  @discardableResult
  func startAgent(_ id: String, arguments: [String] = []) throws -> BenchProcess {
    generation += 1
    let name = "\(id)-\(generation)"
    let agent = try BenchProcess(
      [
        "agent", "--server", "\(address)", "--token", token, "--id", id,
        "--data-dir", directory + "/" + name,
      ] + arguments,
      logPath: logged ? directory + "/\(name).log" : nil
    )
    agents.append(agent)
    return agent
  }

  /// Kills every process (SIGKILL) and removes the scratch directory.
  func stop() {
    for agent in agents { agent.stop() }
    server.stop()
    try? FileManager.default.removeItem(atPath: directory)
  }
}
