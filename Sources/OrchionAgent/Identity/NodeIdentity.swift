import Foundation
import OrchionClient
import OrchionCore

/// The agent's stable node ID: created once, kept in the data directory, so a restarted agent
/// rejoins as the same node.
enum NodeIdentity {
  /// The ID in `<directory>/node-id`, created from the host name and a random suffix if absent.
  static func load(from directory: String) throws -> NodeID {
    let path = (directory as NSString).appendingPathComponent("node-id")
    if let text = try? String(contentsOfFile: path, encoding: .utf8) {
      return try NodeID(validating: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let id = try NodeID(validating: generate(hostname: ProcessInfo.processInfo.hostName))
    try PrivateFile.write(Data((id.rawValue + "\n").utf8), to: path)
    return id
  }

  /// `<host>-<6 hex>`: readable, and unique when several agents share a machine.
  static func generate(hostname: String) -> String {
    let allowed = hostname.lowercased().unicodeScalars.map { scalar -> Character in
      switch scalar {
      case "a"..."z", "0"..."9", "-", "_": Character(scalar)
      default: "-"
      }
    }
    var base = String(allowed.prefix(200)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    if base.isEmpty { base = "node" }
    let suffix = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
    return base + "-" + String(repeating: "0", count: 6 - suffix.count) + suffix
  }
}
