/// A rule about one node label that a task places on the nodes it may run on.
///
/// Written as Kubernetes set-based selectors are: `gpu=a100`, `zone!=eu-1`, `os in (linux,darwin)`,
/// `tier notin (spot)`, `ssd` (the label exists), `!spot` (it does not). As in Kubernetes, `!=` and
/// `notin` also match a node without the label.
public enum LabelConstraint: Hashable, Sendable, CustomStringConvertible {
  case equals(key: String, value: String)
  case notEquals(key: String, value: String)
  case isIn(key: String, values: Set<String>)
  case notIn(key: String, values: Set<String>)
  case exists(key: String)
  case absent(key: String)

  /// The most constraints a task may carry.
  public static let maxPerTask = 64
  /// The longest expression, in bytes.
  public static let maxExpressionBytes = 1024

  /// Whether a node with `labels` satisfies the rule.
  public func matches(_ labels: [String: String]) -> Bool {
    switch self {
    case .equals(let key, let value): labels[key] == value
    case .notEquals(let key, let value): labels[key] != value
    case .isIn(let key, let values): labels[key].map(values.contains) ?? false
    case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
    case .exists(let key): labels[key] != nil
    case .absent(let key): labels[key] == nil
    }
  }

  /// The expression in its canonical written form (sets sorted).
  public var description: String {
    switch self {
    case .equals(let key, let value): "\(key)=\(value)"
    case .notEquals(let key, let value): "\(key)!=\(value)"
    case .isIn(let key, let values): "\(key) in (\(values.sorted().joined(separator: ",")))"
    case .notIn(let key, let values): "\(key) notin (\(values.sorted().joined(separator: ",")))"
    case .exists(let key): key
    case .absent(let key): "!\(key)"
    }
  }

  /// Parses one expression.
  /// - Throws: `invalidArgument` saying what is wrong with it, for `field`.
  public init(parsing text: String, field: String) throws(OrchionError) {
    func fail(_ rule: String) -> OrchionError {
      .invalidArgument(field: field, "\(field): \(TextRules.quoted(text)): \(rule)")
    }
    guard text.utf8.count <= Self.maxExpressionBytes else {
      throw fail("at most \(Self.maxExpressionBytes) bytes")
    }
    let trimmed = text.trimmingSpaces
    guard !trimmed.isEmpty else { throw fail("empty expression") }
    if trimmed.hasPrefix("!"), !trimmed.contains("=") {
      self = .absent(key: try Self.key(String(trimmed.dropFirst()), fail: fail))
      return
    }
    if let bang = trimmed.firstIndex(of: "!"), trimmed[trimmed.index(after: bang)...].first == "=" {
      self = .notEquals(
        key: try Self.key(String(trimmed[..<bang]), fail: fail),
        value: try Self.value(String(trimmed[trimmed.index(bang, offsetBy: 2)...]), fail: fail)
      )
      return
    }
    if let equals = trimmed.firstIndex(of: "=") {
      var valueStart = trimmed.index(after: equals)
      // Accept `==` as well as `=`, as Kubernetes does.
      if valueStart < trimmed.endIndex, trimmed[valueStart] == "=" {
        valueStart = trimmed.index(after: valueStart)
      }
      self = .equals(
        key: try Self.key(String(trimmed[..<equals]), fail: fail),
        value: try Self.value(String(trimmed[valueStart...]), fail: fail)
      )
      return
    }
    let words = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
    if words.count == 1 {
      self = .exists(key: try Self.key(trimmed, fail: fail))
      return
    }
    guard words.count == 3, words[1] == "in" || words[1] == "notin" else {
      throw fail("expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key")
    }
    let key = try Self.key(String(words[0]), fail: fail)
    let list = words[2].trimmingSpaces
    guard list.hasPrefix("("), list.hasSuffix(")"), list.count >= 2 else {
      throw fail("the values of '\(words[1])' go in parentheses: key \(words[1]) (a,b)")
    }
    var values = Set<String>()
    for item in list.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
    {
      values.insert(try Self.value(String(item), fail: fail))
    }
    guard !values.isEmpty, !values.contains("") else { throw fail("empty value in the list") }
    self = words[1] == "in" ? .isIn(key: key, values: values) : .notIn(key: key, values: values)
  }

  private static func key(_ text: String, fail: (String) -> OrchionError) throws(OrchionError)
    -> String
  {
    let key = text.trimmingSpaces
    guard !key.isEmpty, key.utf8.count <= 128,
      key.unicodeScalars.allSatisfy(TextRules.isKeyCharacter)
    else {
      throw fail("label keys are 1-128 characters of letters, digits, '.', '_', '-' and '/'")
    }
    return key
  }

  private static func value(_ text: String, fail: (String) -> OrchionError) throws(OrchionError)
    -> String
  {
    let value = text.trimmingSpaces
    guard value.utf8.count <= 256, TextRules.firstControlCharacter(in: value) == nil,
      !value.contains(where: { "(),".contains($0) })
    else {
      throw fail("values are at most 256 bytes without control characters, '(', ')' or ','")
    }
    return value
  }
}

extension StringProtocol {
  fileprivate var trimmingSpaces: String {
    String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
  }
}
