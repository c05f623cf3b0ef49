/// A task's identifier: `t` and 20 lowercase hex digits — 12 of creation time in milliseconds,
/// then 8 that make it unique. IDs sort in creation order, which makes "newest first" listing and
/// page tokens cheap.
public struct TaskID: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The identifier text.
  public let rawValue: String

  /// Validates `rawValue` as a task ID.
  /// - Throws: `invalidArgument` when it is empty or not of this form.
  public init(validating rawValue: String, field: String = "task_id") throws(OrchionError) {
    guard !rawValue.isEmpty else {
      throw .invalidArgument(field: field, "\(field): must not be empty")
    }
    let body = rawValue.utf8.dropFirst()
    guard rawValue.utf8.first == UInt8(ascii: "t"), body.count == 20,
      body.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
    else {
      throw .invalidArgument(
        field: field,
        "\(field) \(TextRules.quoted(rawValue)): not a task ID (t followed by 20 hex digits)"
      )
    }
    self.rawValue = rawValue
  }

  /// An ID for a task created at `instant`, unique through `sequence` (which the caller keeps
  /// increasing so IDs issued in the same millisecond still sort in order).
  public init(createdAt instant: UTCInstant, sequence: UInt32) {
    let milliseconds = UInt64(max(0, instant.nanosecondsSinceEpoch / 1_000_000)) & 0xFFFF_FFFF_FFFF
    rawValue = "t" + Self.hex(milliseconds, digits: 12) + Self.hex(UInt64(sequence), digits: 8)
  }

  static func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }

  public static func < (lhs: TaskID, rhs: TaskID) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String { rawValue }
}

/// One run of a task. Reports carrying any other attempt ID than the task's current one are stale.
public struct AttemptID: Hashable, Sendable, CustomStringConvertible {
  /// The identifier text: `a` and 16 hex digits.
  public let rawValue: String

  /// Wraps a value received from an agent (any non-empty text: it is only compared).
  /// - Parameter field: The field name for error messages.
  /// - Throws: `invalidArgument` when empty or longer than 64 bytes.
  public init(validating rawValue: String, field: String = "attempt_id") throws(OrchionError) {
    guard !rawValue.isEmpty, rawValue.utf8.count <= 64 else {
      throw .invalidArgument(
        field: field,
        "\(field): must be 1-64 bytes (got \(rawValue.utf8.count))"
      )
    }
    self.rawValue = rawValue
  }

  /// A fresh random attempt ID.
  public static func random(using generator: inout some RandomNumberGenerator) -> AttemptID {
    AttemptID(
      trusted: "a" + TaskID.hex(UInt64.random(in: .min ... .max, using: &generator), digits: 16)
    )
  }

  private init(trusted: String) { rawValue = trusted }

  public var description: String { rawValue }
}
