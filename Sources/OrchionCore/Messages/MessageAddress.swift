/// Where a routed message goes: a task's or a node's mailbox, a topic (every current subscriber
/// gets each message) or a queue (each message goes to one consumer).
public enum MessageAddress: Hashable, Sendable, CustomStringConvertible {
  case task(TaskID)
  case node(NodeID)
  case topic(String)
  case queue(String)

  /// The longest topic or queue name, in bytes.
  public static let maxNameBytes = 128

  /// Parses `task/ID`, `node/ID`, `topic/NAME` or `queue/NAME`; names are 1–128 letters,
  /// digits, `.`, `_` and `-` (like node IDs, so they read the same in every shell).
  /// - Throws: `invalidArgument` naming `field` and what was wrong.
  public init(parsing text: String, field: String = "address") throws(OrchionError) {
    guard let slash = text.firstIndex(of: "/") else {
      throw .invalidArgument(
        field: field,
        "\(field) \(TextRules.quoted(text)): expected task/ID, node/ID, topic/NAME or queue/NAME"
      )
    }
    let kind = text[..<slash]
    let name = String(text[text.index(after: slash)...])
    switch kind {
    case "task": self = .task(try TaskID(validating: name, field: field))
    case "node":
      do { self = .node(try NodeID(validating: name)) } catch {
        throw .invalidArgument(field: field, "\(field): \(error.message)")
      }
    case "topic": self = .topic(try Self.validName(name, field: field))
    case "queue": self = .queue(try Self.validName(name, field: field))
    default:
      throw .invalidArgument(
        field: field,
        "\(field) \(TextRules.quoted(text)): unknown kind \(TextRules.quoted(String(kind))); expected task, node, topic or queue"
      )
    }
  }

  /// `kind/name`, as parsed.
  public var description: String {
    switch self {
    case .task(let id): "task/\(id.rawValue)"
    case .node(let id): "node/\(id.rawValue)"
    case .topic(let name): "topic/\(name)"
    case .queue(let name): "queue/\(name)"
    }
  }

  private static func validName(_ name: String, field: String) throws(OrchionError) -> String {
    guard !name.isEmpty, name.utf8.count <= maxNameBytes,
      name.unicodeScalars.allSatisfy(TextRules.isIdentifierCharacter)
    else {
      throw .invalidArgument(
        field: field,
        "\(field): names are 1-\(maxNameBytes) letters, digits, '.', '_' or '-' (got \(TextRules.quoted(name)))"
      )
    }
    return name
  }
}
