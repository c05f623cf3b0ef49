import Foundation

/// The systemd unit that runs `orchion agent`: restarted on failure, allowed to make its tasks'
/// cgroups (`Delegate=yes`), given time to stop its tasks gracefully, with its token in a
/// separate 0600 file the unit only names.
struct AgentServiceUnit {
  static let name = "orchion-agent.service"

  var executable: String
  var dataDirectory: String
  var configFile: String
  var agentArguments: [String]
  var user: Bool

  /// This program, by its absolute path.
  static func currentExecutable() throws -> String {
    let path = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? path
    return resolved
  }

  /// The agent's command line.
  var arguments: [String] {
    [executable, "agent", "--data-dir", dataDirectory] + agentArguments
  }

  /// The command line for a shell (what to run where systemd is not).
  var commandLine: String {
    arguments.map { argument in
      argument.allSatisfy { $0.isLetter || $0.isNumber || "/-_.=:,@".contains($0) }
        ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
  }

  var text: String {
    """
    # Written by `orchion agent install-service`; `orchion agent uninstall-service` removes it.
    [Unit]
    Description=Orchion agent: runs the tasks its orchestrator assigns to this machine
    Wants=network-online.target
    After=network-online.target

    [Service]
    Type=exec
    # The server and token are in this file (mode 0600), not in the unit.
    Environment=\(Self.quoted("ORCHION_CONFIG=" + configFile))
    ExecStart=\(arguments.map(Self.quoted).joined(separator: " "))
    Restart=on-failure
    RestartSec=5s
    # The agent stops its tasks on SIGTERM (SIGKILL after its kill grace) and reports them.
    KillMode=mixed
    TimeoutStopSec=60s
    # Each task runs in a cgroup of its own under the agent's.
    Delegate=yes

    [Install]
    WantedBy=\(user ? "default.target" : "multi-user.target")

    """
  }

  /// `text` as one word of a unit file: double-quoted, with `\`, `"` escaped, and `%` and `$`
  /// doubled so systemd expands neither specifiers nor variables.
  static func quoted(_ text: String) -> String {
    var quoted = "\""
    for character in text {
      switch character {
      case "\\": quoted += "\\\\"
      case "\"": quoted += "\\\""
      case "%": quoted += "%%"
      case "$": quoted += "$$"
      case "\n": quoted += "\\n"
      default: quoted.append(character)
      }
    }
    return quoted + "\""
  }
}
