import OrchionCore

/// Reads a version out of what a CLI's version command printed: `1.0.58 (Claude Code)`,
/// `codex-cli 0.20.0`, `aider 0.85.2`, `2025.08.25-896bbe1`.
enum VersionText {
  /// The first version number in the first non-empty line (digits, then at least one `.`
  /// part, then an optional `-suffix` or `+build`); failing that, the line itself, cut to
  /// ``AgentCLI/maxVersionBytes`` with control characters dropped; `nil` for no text at all.
  static func parse(_ output: String) -> String? {
    guard
      let line = output.split(whereSeparator: \.isNewline).lazy
        .map({ $0.trimmingWhitespace() }).first(where: { !$0.isEmpty })
    else { return nil }
    if let number = firstVersionNumber(in: line) { return number }
    let printable = String(
      String.UnicodeScalarView(
        line.unicodeScalars.filter { TextRules.firstControlCharacter(in: String($0)) == nil }
      )
    )
    return printable.isEmpty ? nil : printable.utf8Prefix(AgentCLI.maxVersionBytes)
  }

  private static func firstVersionNumber(in line: Substring) -> String? {
    let scalars = Array(line.unicodeScalars)
    var index = 0
    while index < scalars.count {
      // A version starts at a digit that does not continue a word (`v1.2` counts, `x11` not).
      let startsHere =
        isDigit(scalars[index])
        && (index == 0 || !isAlphanumeric(scalars[index - 1]) || scalars[index - 1] == "v")
      if startsHere, let end = versionEnd(scalars, from: index) {
        let text = String(String.UnicodeScalarView(scalars[index..<end]))
        return text.utf8Prefix(AgentCLI.maxVersionBytes)
      }
      index += 1
    }
    return nil
  }

  /// Where a version starting at `start` ends, if it has a dotted part.
  private static func versionEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
    var index = start
    while index < scalars.count, isDigit(scalars[index]) { index += 1 }
    var dotted = false
    while index + 1 < scalars.count, scalars[index] == ".", isAlphanumeric(scalars[index + 1]) {
      index += 1
      dotted = true
      while index < scalars.count, isAlphanumeric(scalars[index]) { index += 1 }
    }
    guard dotted else { return nil }
    if index + 1 < scalars.count, scalars[index] == "-" || scalars[index] == "+",
      isAlphanumeric(scalars[index + 1])
    {
      index += 1
      while index < scalars.count,
        isAlphanumeric(scalars[index]) || scalars[index] == "." || scalars[index] == "-"
      {
        index += 1
      }
    }
    return index
  }

  private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

  private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    isDigit(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
  }
}

extension Substring {
  fileprivate func trimmingWhitespace() -> Substring {
    let start = firstIndex { !$0.isWhitespace } ?? endIndex
    let end = self[start...].lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
    return self[start..<end]
  }
}

extension String {
  /// At most `bytes` of UTF-8, cut at a character boundary.
  fileprivate func utf8Prefix(_ bytes: Int) -> String {
    var count = 0
    var end = startIndex
    for character in self {
      count += character.utf8.count
      guard count <= bytes else { break }
      end = index(after: end)
    }
    return String(self[startIndex..<end])
  }
}
