/// A group's identifier: `g` and the 20 hex digits of its first member's task ID, so group IDs
/// are unique, sort by creation, and say where the group starts.
public struct GroupID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let rawValue: String

  /// Validates `rawValue` as a group ID.
  /// - Throws: `invalidArgument` when it is not of this form.
  public init(validating rawValue: String, field: String = "group_id") throws(OrchionError) {
    guard rawValue.utf8.first == UInt8(ascii: "g"),
      (try? TaskID(validating: "t" + rawValue.dropFirst())) != nil
    else {
      throw .invalidArgument(
        field: field,
        "\(field) \(TextRules.quoted(rawValue)): not a group ID (g followed by 20 hex digits)"
      )
    }
    self.rawValue = rawValue
  }

  /// The ID of the group whose first member is `first`.
  public init(firstMember first: TaskID) {
    rawValue = "g" + first.rawValue.dropFirst()
  }

  public static func < (lhs: GroupID, rhs: GroupID) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String { rawValue }
}

/// Where a task stands in its group.
public struct GroupMembership: Hashable, Sendable {
  public var group: GroupID
  /// 0…size-1: the member's ORCHION_INDEX.
  public var index: Int32
  /// The member's item, for a group made from items.
  public var item: String?
  /// Members of the group never share a node.
  public var spread: Bool

  public init(group: GroupID, index: Int32, item: String? = nil, spread: Bool = false) {
    self.group = group
    self.index = index
    self.item = item
    self.spread = spread
  }
}

/// The idempotency key a submission came with, and a digest of the request it named: the same
/// key with the same request is the same submission.
public struct IdempotencyKey: Hashable, Sendable {
  /// At most this many bytes.
  public static let maxBytes = 128

  public var key: String
  /// SHA-256 of the request, deterministically encoded.
  public var requestDigest: [UInt8]

  public init(key: String, requestDigest: [UInt8]) {
    self.key = key
    self.requestDigest = requestDigest
  }

  /// Checks a key from the wire.
  /// - Throws: `invalidArgument` when too long or holding control characters.
  public static func validate(_ key: String, field: String = "idempotency_key") throws(OrchionError) {
    guard key.utf8.count <= maxBytes, TextRules.firstControlCharacter(in: key) == nil else {
      throw .invalidArgument(
        field: field,
        "\(field): at most \(maxBytes) bytes, no control characters"
      )
    }
  }
}

/// The limits of a group.
public enum TaskGroupLimits {
  public static let maxMembers = 10_000
  public static let maxItemBytes = 4_096
}
