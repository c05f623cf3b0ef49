import Foundation
import NIOCore
import NIOPosix
import OrchionCore

/// The models a local Ollama server serves, as its `GET /api/tags` lists them: labels
/// `model.orchion.io/<name>` on the node, for agent tasks whose model is `ollama/<name>`.
///
/// The server is untrusted like any local program: the answer is read to at most
/// ``maxResponseBytes``, bounded by the detection timeout, and names that would not make valid
/// labels are skipped.
struct OllamaModels: Equatable, Sendable {
  var names: [String]

  static let none = OllamaModels(names: [])

  /// Where Ollama listens unless `OLLAMA_HOST` says otherwise (its own documented variable).
  static let defaultAddress = (host: "127.0.0.1", port: 11434)
  /// Most bytes of the answer read.
  static let maxResponseBytes = 1 << 20
  /// Most models labelled: labels are bounded per node.
  static let maxModels = 16

  /// The labels these models give a node.
  var labels: [String: String] {
    Dictionary(
      names.map { (AgentPlacement.modelLabel(for: $0), "ollama") },
      uniquingKeysWith: { first, _ in first }
    )
  }

  /// The models in an `/api/tags` body: `{"models":[{"name":"llama3.2:latest",…},…]}`.
  init(tagsJSON body: some Collection<UInt8>) {
    guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
      let models = object["models"] as? [[String: Any]]
    else {
      names = []
      return
    }
    var names: [String] = []
    for model in models {
      guard let name = model["name"] as? String, !name.isEmpty,
        AgentPlacement.modelLabel(for: name).utf8.count <= 128,
        name.unicodeScalars.allSatisfy(AgentRun.isModelCharacter),
        !names.contains(name)
      else { continue }
      names.append(name)
      if names.count == Self.maxModels { break }
    }
    self.names = names
  }

  init(names: [String]) {
    self.names = names
  }

  /// Where to ask: `OLLAMA_HOST` (`host`, `host:port` or `http://host:port`; a wildcard bind
  /// address means this machine), else 127.0.0.1:11434.
  static func address(from environment: [String: String]) -> (host: String, port: Int) {
    guard var text = environment["OLLAMA_HOST"], !text.isEmpty else { return defaultAddress }
    for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
      text.removeFirst(scheme.count)
    }
    text = String(text.prefix { $0 != "/" })
    var host = text
    var port = defaultAddress.port
    if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
      // A port that is not one: the value is not usable, ask where Ollama usually is.
      guard let parsed = Int(text[text.index(after: colon)...]), (1...65535).contains(parsed)
      else { return defaultAddress }
      host = String(text[..<colon])
      port = parsed
    }
    if host.isEmpty || host == "0.0.0.0" || host == "[::]" { host = defaultAddress.host }
    return (host, port)
  }

  /// Asks the server at `address`; ``none`` when nothing answers well within `timeout`.
  static func query(
    address: (host: String, port: Int),
    timeout: Duration,
    clock: any WallClock
  ) async -> OllamaModels {
    await withTaskGroup(of: OllamaModels?.self) { group in
      group.addTask { try? await fetchTags(address) }
      group.addTask {
        try? await clock.sleep(for: timeout)
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first ?? .none
    }
  }

  /// One `GET /api/tags` over HTTP/1.0 (so the body ends with the connection, never chunked).
  private static func fetchTags(_ address: (host: String, port: Int)) async throws -> OllamaModels {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connectTimeout(.seconds(2))
      .connect(host: address.host, port: address.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    let response = try await channel.executeThenClose { inbound, outbound in
      try await outbound.write(
        ByteBuffer(string: "GET /api/tags HTTP/1.0\r\nHost: \(address.host)\r\nAccept: application/json\r\n\r\n")
      )
      var response: [UInt8] = []
      for try await buffer in inbound {
        response += buffer.readableBytesView.prefix(maxResponseBytes - response.count)
        if response.count >= maxResponseBytes { break }
      }
      return response
    }
    guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)),
      String(decoding: response[..<split.lowerBound], as: UTF8.self)
        .split(separator: "\r\n").first?.split(separator: " ").dropFirst().first == "200"
    else { return .none }
    return OllamaModels(tagsJSON: response[split.upperBound...])
  }
}
