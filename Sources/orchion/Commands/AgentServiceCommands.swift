import ArgumentParser
import Foundation
import OrchionClient
import OrchionCommandLine
import OrchionCore

/// `orchion agent install-service`: run the agent as a systemd service, started at boot and
/// restarted when it fails.
struct InstallServiceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "install-service",
    abstract: "Run the agent as a systemd service that starts at boot and restarts on failure.",
    discussion: """
      Writes the unit and, beside the agent's data, a client config (0600) holding the server \
      and the token: the unit names the file, never the token. Agent flags go after --, e.g. \
      orchion agent install-service --server HOST:50051 --token JOIN -- --label gpu=a100.
      """
  )

  @OptionGroup var client: ClientOptions
  @OptionGroup var service: ServiceLocation

  @Option(help: "Directory for the agent's state.")
  var dataDir = (DataDirectory.defaultPath as NSString).appendingPathComponent("agent")

  @Argument(parsing: .postTerminator, help: "Flags for `orchion agent`, after --.")
  var agentArguments: [String] = []

  func run() async throws {
    guard let token = client.resolvedToken(), !token.isEmpty else {
      throw ValidationError("give the agent's token: --token JOIN_TOKEN (orchion token create --join)")
    }
    let servers = try client.addresses()
    let data = try DataDirectory.prepare(dataDir)
    let unit = AgentServiceUnit(
      executable: try AgentServiceUnit.currentExecutable(),
      dataDirectory: data,
      configFile: data + "/service.config",
      agentArguments: agentArguments,
      user: service.user
    )
    var config = ClientConfigFile()
    config.server = servers.map(\.description).joined(separator: ",")
    config.token = token
    let tls = client.resolvedTLS()
    config.tlsCA = tls?.caPath
    config.tlsCert = tls?.certificatePath
    config.tlsKey = tls?.keyPath
    try config.save(to: unit.configFile)
    let path = try service.unitPath()
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true
    )
    try Data(unit.text.utf8).write(to: URL(fileURLWithPath: path))
    Console.line("wrote \(path) (the token is in \(unit.configFile), mode 0600)")
    try service.activate(["daemon-reload"], then: ["enable", "--now", AgentServiceUnit.name]) {
      "start the agent with: ORCHION_CONFIG=\(unit.configFile) \(unit.commandLine)"
    }
  }
}

/// `orchion agent uninstall-service`: stop the service and remove its unit and config.
struct UninstallServiceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "uninstall-service",
    abstract: "Stop the agent's systemd service and remove its unit and config."
  )

  @OptionGroup var service: ServiceLocation

  @Option(help: "Directory for the agent's state.")
  var dataDir = (DataDirectory.defaultPath as NSString).appendingPathComponent("agent")

  func run() async throws {
    let path = try service.unitPath()
    try service.activate(["disable", "--now", AgentServiceUnit.name], then: []) {
      "stop the agent if it runs"
    }
    for file in [path, (dataDir as NSString).expandingTildeInPath + "/service.config"]
    where FileManager.default.fileExists(atPath: file) {
      try FileManager.default.removeItem(atPath: file)
      Console.line("removed \(file)")
    }
    if service.systemdRuns { try? service.systemctl(["daemon-reload"]) }
  }
}

/// Where the unit goes: the system's units, the user's (`--user`), or a directory named.
struct ServiceLocation: ParsableArguments {
  @Flag(help: "A user service (~/.config/systemd/user) instead of a system one.")
  var user = false

  @Option(help: "Write the unit here instead (for packaging, or to look at it first).")
  var unitDir: String?

  func unitPath() throws -> String {
    if let unitDir { return (unitDir as NSString).expandingTildeInPath + "/" + AgentServiceUnit.name }
    if user {
      return (("~/.config/systemd/user" as NSString).expandingTildeInPath) + "/" + AgentServiceUnit.name
    }
    return "/etc/systemd/system/" + AgentServiceUnit.name
  }

  /// Whether systemd manages this machine (its documented test: /run/systemd/system exists).
  var systemdRuns: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

  /// Runs `systemctl first` and `systemctl then` where systemd runs and the unit went where it
  /// looks; otherwise says so and what to do instead.
  func activate(_ first: [String], then: [String], instead: () -> String) throws {
    guard systemdRuns, unitDir == nil else {
      let why = systemdRuns ? "the unit is not where systemd looks (--unit-dir)" : "systemd is not running on this machine"
      Console.line("\(why): \(instead())")
      return
    }
    try systemctl(first)
    if !then.isEmpty { try systemctl(then) }
  }

  func systemctl(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["systemctl"] + (user ? ["--user"] : []) + arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ValidationError("systemctl \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus))")
    }
  }
}
