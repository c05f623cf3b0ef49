import Foundation

/// Which web origins may drive `/mcp`: a page on any other site must not, even through a
/// rebound DNS name that points at this machine. Requests without an `Origin` (MCP clients that
/// are programs, not pages) pass: the bearer token guards them.
public struct MCPOrigins: Sendable, Equatable {
  /// Origins allowed besides loopback ones (`--mcp-allowed-origin`), as `scheme://host[:port]`.
  public var allowed: [String]

  public init(allowed: [String] = []) {
    self.allowed = allowed.map(Self.normalized)
  }

  /// Whether a request with this `Origin` header may call.
  public func allows(_ origin: String) -> Bool {
    let origin = Self.normalized(origin)
    if allowed.contains(origin) { return true }
    guard let components = URLComponents(string: origin), let scheme = components.scheme,
      ["http", "https"].contains(scheme), components.path.isEmpty, let host = components.host
    else { return false }
    return ["localhost", "127.0.0.1", "[::1]", "::1"].contains(host.lowercased())
  }

  /// Checks an `--mcp-allowed-origin` value: `scheme://host[:port]`, nothing after.
  public static func isValid(_ origin: String) -> Bool {
    guard let components = URLComponents(string: origin), let scheme = components.scheme,
      ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
    else { return false }
    return components.path.isEmpty && components.query == nil && components.fragment == nil
      && components.user == nil
  }

  private static func normalized(_ origin: String) -> String {
    var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
    while text.hasSuffix("/") { text.removeLast() }
    return text
  }
}
