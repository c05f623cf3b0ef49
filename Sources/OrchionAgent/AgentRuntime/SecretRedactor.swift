/// Replaces the values of a task's secrets in its output with `[secret NAME]` before the output
/// leaves the node.
///
/// Output arrives in pieces cut anywhere, so a secret may straddle two reads: the end of a piece
/// that could still become a secret is held back until the next piece (or the end) decides.
/// Values shorter than ``minimumLength`` are not redacted — `1` or `yes` would blank ordinary
/// output without protecting anything.
struct SecretRedactor: Sendable {
  private struct Secret: Sendable {
    var value: [UInt8]
    var replacement: [UInt8]
  }

  /// Shortest value redacted, in bytes.
  static let minimumLength = 4

  private let secrets: [Secret]
  private let longest: Int
  private var held: [UInt8] = []

  /// - Parameter values: Secret values by name (the name shows in the replacement). Each is
  ///   also found as JSON writes it inside a string (`"`, `\`, `/` and control characters
  ///   escaped), since agent CLIs print JSON.
  init(_ values: [String: String]) {
    secrets = values.flatMap { name, value -> [Secret] in
      let replacement = Array("[secret \(name)]".utf8)
      return Set([value, Self.jsonEscaped(value, slashes: false), Self.jsonEscaped(value, slashes: true)])
        .map { Array($0.utf8) }
        .filter { $0.count >= Self.minimumLength }
        .map { Secret(value: $0, replacement: replacement) }
    }
    // Longest first: a secret that contains another is replaced whole.
    .sorted { $0.value.count > $1.value.count }
    longest = secrets.first?.value.count ?? 0
  }

  /// `value` as it appears between the quotes of a JSON string.
  static func jsonEscaped(_ value: String, slashes: Bool) -> String {
    var escaped = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": escaped += "\\\""
      case "\\": escaped += "\\\\"
      case "/" where slashes: escaped += "\\/"
      case "\n": escaped += "\\n"
      case "\r": escaped += "\\r"
      case "\t": escaped += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: escaped.unicodeScalars.append(scalar)
      }
    }
    return escaped
  }

  /// Whether there is anything to redact.
  var isActive: Bool { !secrets.isEmpty }

  /// The redacted form of `bytes`, less what is held back for the next call.
  mutating func redact(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    guard isActive else { return Array(bytes) }
    held.append(contentsOf: bytes)
    return drain(final: false)
  }

  /// What is still held back, redacted: the output ended.
  mutating func finish() -> [UInt8] {
    guard isActive else { return [] }
    return drain(final: true)
  }

  /// Redacts a whole piece of text at once (nothing held back).
  func redacting(_ text: String) -> String {
    guard isActive else { return text }
    var copy = self
    copy.held = []
    let redacted = copy.redact(text.utf8) + copy.finish()
    return String(decoding: redacted, as: UTF8.self)
  }

  private mutating func drain(final: Bool) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(held.count)
    var index = 0
    scanning: while index < held.count {
      for secret in secrets where held[index] == secret.value[0] {
        let available = held.count - index
        if available >= secret.value.count {
          if held[index..<(index + secret.value.count)].elementsEqual(secret.value) {
            output += secret.replacement
            index += secret.value.count
            continue scanning
          }
        } else if !final, held[index...].elementsEqual(secret.value.prefix(available)) {
          // Could still become this secret: wait for more.
          break scanning
        }
      }
      output.append(held[index])
      index += 1
    }
    held.removeFirst(index)
    if final { held = [] }
    // Bounded: what is held is always shorter than the longest secret.
    assert(held.count < max(longest, 1))
    return output
  }
}
