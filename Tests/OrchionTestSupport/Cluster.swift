import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#endif

/// An orchestrator and agents as real `orchion` processes on loopback, for end-to-end tests.
public final class Cluster: Sendable {
  /// Scratch directory for data dirs and the client config.
  public let directory: String
  /// The orchestrator process (replaced by ``restartServer()``).
  public var server: ChildProcess { state.withLock { $0.server } }
  /// The orchestrator's address.
  public var address: ServerAddress { state.withLock { $0.address } }

  private struct State: Sendable {
    var server: ChildProcess
    var address: ServerAddress
    var serverArguments: [String]
    var agents: [String: ChildProcess] = [:]
  }

  private let state: MutexBox<State>

  /// Starts an orchestrator with `serverArguments` (port 0 unless given).
  public init(serverArguments: [String] = []) async throws {
    directory =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-e2e-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let (server, address) = try await Self.launchServer(
      directory: directory,
      arguments: ["--port", "0"] + serverArguments
    )
    state = MutexBox(State(server: server, address: address, serverArguments: serverArguments))
  }

  /// The environment every `orchion` process of this cluster gets.
  public var environment: [String: String] {
    ["ORCHION_CONFIG": directory + "/client-config"]
  }

  /// Starts `orchion server` with its data in `directory` and returns it once it listens.
  public static func launchServer(
    directory: String,
    arguments: [String],
    environment: [String: String] = [:]
  ) async throws -> (ChildProcess, ServerAddress) {
    // A free HTTP port too, unless the test chooses: the default (--port + 1) may be taken.
    let http = arguments.contains("--http-port") ? [] : ["--http-port", "0"]
    let server = try ChildProcess(
      BuiltProducts.orchion,
      ["server", "--data-dir", directory + "/server"] + http + arguments,
      environment: ["ORCHION_CONFIG": directory + "/client-config"].merging(environment) { $1 }
    )
    let line = try await server.waitForOutput(containing: "listening on ")
    guard let text = line.split(separator: " ").last,
      let address = try? ServerAddress(parsing: String(text))
    else {
      throw OrchionError(code: .internalError, message: "no address in: \(line)")
    }
    return (server, address)
  }

  /// The dashboard's address (`http://127.0.0.1:PORT`) of the orchestrator running now.
  public func dashboardURL() async throws -> String {
    try await Self.dashboardURL(of: server)
  }

  /// The dashboard's address an `orchion server` or `orchion up` printed.
  public static func dashboardURL(of server: ChildProcess) async throws -> String {
    let line = try await server.waitForOutput(containing: "dashboard on ")
    guard let range = line.range(of: "dashboard on "),
      let url = line[range.upperBound...].split(separator: " ").first
    else {
      throw OrchionError(code: .internalError, message: "no dashboard address in: \(line)")
    }
    return String(url)
  }

  /// Starts an agent with a fixed node ID.
  @discardableResult
  public func startAgent(
    _ id: String,
    labels: [String: String] = [:],
    slots: Int = 4,
    extra: [String] = [],
    environment extraEnvironment: [String: String] = [:]
  ) throws -> ChildProcess {
    var arguments = [
      "agent", "--server", "\(address)", "--id", id, "--slots", "\(slots)",
      "--data-dir", directory + "/agent-" + id, "--kill-grace", "2s",
    ]
    for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
      arguments += ["--label", "\(key)=\(value)"]
    }
    let agent = try ChildProcess(
      BuiltProducts.orchion,
      arguments + extra,
      environment: environment.merging(extraEnvironment) { $1 }
    )
    state.withLock { $0.agents[id] = agent }
    return agent
  }

  /// The agent started as `id`.
  public func agent(_ id: String) -> ChildProcess? {
    state.withLock { $0.agents[id] }
  }

  /// Kills the orchestrator with SIGKILL and starts a new one on the same port.
  public func restartServer() async throws {
    try await killServer()
    try await startServer()
  }

  /// Kills the orchestrator with SIGKILL.
  public func killServer() async throws {
    let old = state.withLock { $0.server }
    old.signal(SIGKILL)
    _ = try await old.waitForExit()
  }

  /// Starts an orchestrator on the cluster's port (after ``killServer()``).
  public func startServer() async throws {
    let (address, arguments) = state.withLock { ($0.address, $0.serverArguments) }
    var attempt = 0
    while true {
      do {
        let (server, _) = try await Self.launchServer(
          directory: directory,
          arguments: ["--port", "\(address.port)"] + arguments
        )
        state.withLock { $0.server = server }
        return
      } catch  where attempt < 50 {
        attempt += 1  // the port may linger for a moment
        try await Task.sleep(for: .milliseconds(100))
      }
    }
  }

  /// Waits until the orchestrator lists `ids` as ACTIVE.
  public func waitForActiveNodes(_ ids: Set<String>, timeout: Duration = .seconds(30)) async throws
  {
    try await withOrchionClient(server: address, token: testAdminToken) { client in
      try await eventually(timeout: timeout) {
        let nodes = try await client.nodes.listNodes(.with { $0.status = .active }).nodes
        return ids.isSubset(of: Set(nodes.map(\.id)))
      }
    }
  }

  /// Stops everything.
  public func stop() async {
    let (server, agents) = state.withLock { ($0.server, Array($0.agents.values)) }
    for agent in agents { agent.signal(SIGKILL) }
    server.signal(SIGKILL)
    for agent in agents { _ = try? await agent.waitForExit() }
    _ = try? await server.waitForExit()
  }

  /// Runs `body` with a cluster, always stopping it after.
  public static func with<Result: Sendable>(
    serverArguments: [String] = [],
    _ body: (Cluster) async throws -> Result
  ) async throws -> Result {
    let cluster = try await Cluster(serverArguments: serverArguments)
    do {
      let result = try await body(cluster)
      await cluster.stop()
      return result
    } catch {
      await cluster.stop()
      throw error
    }
  }
}

/// Live children of `parent` whose name (`comm`) is `name`, from /proc.
public func childProcesses(of parent: Int32, named name: String) -> Set<Int32> {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
    return []
  }
  return Set(
    entries.compactMap { entry -> Int32? in
      // "pid (comm) state ppid ...": the name may hold spaces, so split after the last ')'.
      guard let pid = Int32(entry),
        let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
      else { return nil }
      let comm = stat[stat.index(after: open)..<close]
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 1, fields[0] != "Z", Int32(fields[1]) == parent, comm == name else {
        return nil
      }
      return pid
    }
  )
}

/// Processes whose command line contains `marker`, from /proc: proof that a task's processes
/// are (or are no longer) running.
public func processes(containing marker: String) -> [Int32] {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
    return []
  }
  return entries.compactMap { entry -> Int32? in
    guard let pid = Int32(entry),
      let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
    else { return nil }
    let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    // Skip zombies: they hold no resources and are reaped by their parent.
    if let status = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
      status.contains(") Z ")
    {
      return nil
    }
    return commandLine.contains(marker) ? pid : nil
  }
}
