/// A coding-agent CLI installed on a node, as the node's agent found it.
public struct AgentCLI: Hashable, Sendable {
  /// The CLI's name as Orchion knows it, e.g. `claude`, `codex`, `cursor-agent`.
  public var name: String
  /// What its version command printed: the version number where one was found.
  public var version: String
  /// Absolute path of the executable.
  public var path: String

  /// Longest name, in bytes.
  public static let maxNameBytes = 64
  /// Longest version, in bytes.
  public static let maxVersionBytes = 128
  /// Longest path, in bytes (Linux's PATH_MAX).
  public static let maxPathBytes = 4096
  /// Most CLIs one node may report.
  public static let maxPerNode = 32
  /// Where the labels derived from CLIs live: `agent.orchion.io/<name>=<version>`.
  public static let labelPrefix = "agent.orchion.io/"

  /// Creates a CLI entry.
  public init(name: String, version: String, path: String) {
    self.name = name
    self.version = version
    self.path = path
  }

  /// The label this CLI gives its node: `agent.orchion.io/<name>`, valued with the version.
  public var label: (key: String, value: String) { (Self.labelPrefix + name, version) }

  /// Whether `name` is a CLI name Orchion accepts: 1–64 of `a-z`, `0-9` and `-`.
  public static func isValidName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= maxNameBytes
      && name.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
      }
  }

  /// Checks one entry against the documented limits.
  /// - Parameter field: What the entry is called in messages, e.g. `agents[2]`.
  /// - Throws: ``OrchionError`` `invalidArgument` naming the field and the rule.
  public func validate(field: String) throws(OrchionError) {
    guard Self.isValidName(name) else {
      throw .invalidArgument(
        field: field,
        "\(field).name: \(TextRules.quoted(name)) must be 1-\(Self.maxNameBytes) characters of a-z, 0-9 and '-'"
      )
    }
    guard !version.isEmpty, version.utf8.count <= Self.maxVersionBytes else {
      throw .invalidArgument(
        field: field,
        "\(field).version: \(version.utf8.count) bytes, 1-\(Self.maxVersionBytes) allowed"
      )
    }
    if TextRules.firstControlCharacter(in: version) != nil {
      throw .invalidArgument(field: field, "\(field).version: must not contain control characters")
    }
    guard path.hasPrefix("/"), path.utf8.count <= Self.maxPathBytes else {
      throw .invalidArgument(
        field: field,
        "\(field).path: must be an absolute path of at most \(Self.maxPathBytes) bytes"
      )
    }
    if TextRules.firstControlCharacter(in: path) != nil {
      throw .invalidArgument(field: field, "\(field).path: must not contain control characters")
    }
  }

  /// Checks a node's list: each entry, at most ``maxPerNode`` of them, names unique.
  /// - Throws: ``OrchionError`` `invalidArgument` naming the entry and the rule.
  public static func validate(_ agents: [AgentCLI]) throws(OrchionError) {
    guard agents.count <= maxPerNode else {
      throw .invalidArgument(
        field: "agents",
        "agents: \(agents.count) entries, at most \(maxPerNode) allowed"
      )
    }
    var seen = Set<String>()
    for (index, agent) in agents.enumerated() {
      try agent.validate(field: "agents[\(index)]")
      guard seen.insert(agent.name).inserted else {
        throw .invalidArgument(
          field: "agents",
          "agents[\(index)].name: '\(agent.name)' is listed twice"
        )
      }
    }
  }

  /// `labels` with every `agent.orchion.io/` label replaced by those `agents` give: the
  /// orchestrator derives them, so a node cannot claim a CLI it does not list.
  public static func labels(_ labels: [String: String], with agents: [AgentCLI]) -> [String:
    String]
  {
    var result = labels.filter { !$0.key.hasPrefix(labelPrefix) }
    for agent in agents { result[agent.label.key] = agent.label.value }
    return result
  }
}
