public import MCP

/// A tool call's arguments, read field by field: each reader checks the JSON type and the
/// bounds and throws a ``ToolArgumentError`` naming the field, so a bad call changes nothing
/// and says what to fix. Unknown fields are refused too: a misspelt `timeout_sec` must not be
/// silently ignored.
public struct ToolArguments: Sendable {
  public let values: [String: Value]

  public init(_ values: [String: Value]?) {
    self.values = values ?? [:]
  }

  /// Refuses any argument not in `known`.
  public func rejectUnknown(_ known: Set<String>) throws(ToolArgumentError) {
    if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
      throw ToolArgumentError(
        unknown,
        "unknown argument (this tool takes \(known.sorted().joined(separator: ", ")))"
      )
    }
  }

  public func has(_ name: String) -> Bool {
    guard let value = values[name] else { return false }
    return !value.isNull
  }

  /// A string of at most `maxBytes` bytes, without control characters; `nil` when absent.
  public func string(_ name: String, maxBytes: Int = 4_096) throws(ToolArgumentError) -> String? {
    guard let value = values[name], !value.isNull else { return nil }
    guard case .string(let text) = value else { throw ToolArgumentError(name, "must be a string") }
    try Self.check(text, name, maxBytes: maxBytes)
    return text
  }

  public func requiredString(_ name: String, maxBytes: Int = 4_096) throws(ToolArgumentError)
    -> String
  {
    guard let text = try string(name, maxBytes: maxBytes) else {
      throw ToolArgumentError(name, "required")
    }
    guard !text.isEmpty else { throw ToolArgumentError(name, "must not be empty") }
    return text
  }

  /// A list of strings, `count` of them at most; `nil` when absent.
  public func strings(_ name: String, count: ClosedRange<Int>, maxBytes: Int = 4_096)
    throws(ToolArgumentError) -> [String]?
  {
    guard let value = values[name], !value.isNull else { return nil }
    guard case .array(let items) = value else {
      throw ToolArgumentError(name, "must be a list of strings")
    }
    guard count.contains(items.count) else {
      throw ToolArgumentError(name, "must hold \(count.lowerBound)-\(count.upperBound) items, not \(items.count)")
    }
    var strings: [String] = []
    for (index, item) in items.enumerated() {
      guard case .string(let text) = item else {
        throw ToolArgumentError("\(name)[\(index)]", "must be a string")
      }
      try Self.check(text, "\(name)[\(index)]", maxBytes: maxBytes, allowNewlines: true)
      strings.append(text)
    }
    return strings
  }

  /// A whole number in `range`; `nil` when absent. JSON has one number type: 3.0 is 3, 3.5 is
  /// refused.
  public func integer(_ name: String, in range: ClosedRange<Int>) throws(ToolArgumentError) -> Int? {
    guard let value = values[name], !value.isNull else { return nil }
    let number: Int
    switch value {
    case .int(let whole): number = whole
    case .double(let real) where real.rounded() == real && abs(real) < 1e15: number = Int(real)
    default: throw ToolArgumentError(name, "must be a whole number")
    }
    guard range.contains(number) else {
      throw ToolArgumentError(name, "must be \(range.lowerBound)-\(range.upperBound), not \(number)")
    }
    return number
  }

  /// A number in `range` (fractions allowed); `nil` when absent.
  public func number(_ name: String, in range: ClosedRange<Double>) throws(ToolArgumentError)
    -> Double?
  {
    guard let value = values[name], !value.isNull else { return nil }
    let number: Double
    switch value {
    case .int(let whole): number = Double(whole)
    case .double(let real) where real.isFinite: number = real
    default: throw ToolArgumentError(name, "must be a number")
    }
    guard range.contains(number) else {
      throw ToolArgumentError(name, "must be \(range.lowerBound)-\(range.upperBound), not \(number)")
    }
    return number
  }

  public func bool(_ name: String) throws(ToolArgumentError) -> Bool? {
    guard let value = values[name], !value.isNull else { return nil }
    guard case .bool(let flag) = value else { throw ToolArgumentError(name, "must be true or false") }
    return flag
  }

  /// An object of string values, `maxCount` entries at most; `nil` when absent.
  public func stringMap(_ name: String, maxCount: Int = 64, maxBytes: Int = 4_096)
    throws(ToolArgumentError) -> [String: String]?
  {
    guard let value = values[name], !value.isNull else { return nil }
    guard case .object(let entries) = value else {
      throw ToolArgumentError(name, "must be an object of strings")
    }
    guard entries.count <= maxCount else {
      throw ToolArgumentError(name, "at most \(maxCount) entries, not \(entries.count)")
    }
    var map: [String: String] = [:]
    for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
      guard case .string(let text) = entry else {
        throw ToolArgumentError("\(name).\(key)", "must be a string")
      }
      try Self.check(key, "\(name) key", maxBytes: 256)
      try Self.check(text, "\(name).\(key)", maxBytes: maxBytes, allowNewlines: true)
      map[key] = text
    }
    return map
  }

  /// One of `choices`; `nil` when absent.
  public func choice(_ name: String, _ choices: [String]) throws(ToolArgumentError) -> String? {
    guard let text = try string(name, maxBytes: 64) else { return nil }
    guard choices.contains(text) else {
      throw ToolArgumentError(
        name,
        "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(text.prefix(64))\""
      )
    }
    return text
  }

  private static func check(
    _ text: String,
    _ name: String,
    maxBytes: Int,
    allowNewlines: Bool = false
  ) throws(ToolArgumentError) {
    guard text.utf8.count <= maxBytes else {
      throw ToolArgumentError(name, "at most \(maxBytes) bytes, not \(text.utf8.count)")
    }
    let control = text.unicodeScalars.first { scalar in
      (scalar.value < 0x20 && !(allowNewlines && (scalar == "\n" || scalar == "\t" || scalar == "\r")))
        || scalar.value == 0x7F
    }
    if let control {
      throw ToolArgumentError(name, "must not contain control characters (U+\(String(control.value, radix: 16, uppercase: true)))")
    }
  }
}

/// A tool argument that is missing, of the wrong type or out of bounds: an MCP tool error
/// whose text starts with the argument's name.
public struct ToolArgumentError: Error, Equatable, Sendable, CustomStringConvertible {
  public let field: String
  public let reason: String

  public init(_ field: String, _ reason: String) {
    self.field = field
    self.reason = reason
  }

  public var description: String { "\(field): \(reason)" }
}
