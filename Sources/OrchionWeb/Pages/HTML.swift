import Foundation

/// Builds pages as text, escaping everything that came from outside (task names, labels,
/// output, messages): the dashboard shows what hostile tasks and nodes wrote.
struct HTML {
  private(set) var text = ""

  /// Appends markup written here (never text from outside).
  mutating func raw(_ markup: String) { text += markup }

  /// Appends text, escaped.
  mutating func text(_ value: String) { text += Self.escape(value) }

  /// `value` with `& < > " '` replaced by their entities: safe in text and quoted attributes.
  /// Control characters other than tab and newline become U+FFFD: they could hide or reorder
  /// what is shown.
  static func escape(_ value: String) -> String {
    var result = ""
    result.reserveCapacity(value.utf8.count)
    for scalar in value.unicodeScalars {
      switch scalar {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "'": result += "&#39;"
      case "\n", "\t": result.unicodeScalars.append(scalar)
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F || (0x202A...0x202E).contains(scalar.value)
          || (0x2066...0x2069).contains(scalar.value)
        {
          result += "\u{FFFD}"
        } else {
          result.unicodeScalars.append(scalar)
        }
      }
    }
    return result
  }

  /// `value` percent-encoded for a query parameter or a path segment.
  static func query(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
  }
}
