/// Limits on a string-to-string map a client sends (node labels, node metadata, task env).
///
/// The server holds these maps in memory for every node and sends them on every `ListNodes`,
/// so they are bounded: entries, key length, value length and total bytes.
public struct StringMapLimits: Hashable, Sendable {
  /// What the map is called in error messages, e.g. `labels`.
  public var field: String
  /// Maximum number of entries.
  public var maxEntries: Int
  /// Maximum key length in bytes (UTF-8).
  public var maxKeyBytes: Int
  /// Maximum value length in bytes (UTF-8).
  public var maxValueBytes: Int
  /// Maximum of all keys and values together, in bytes (UTF-8).
  public var maxTotalBytes: Int
  /// Whether keys are restricted to letters, digits, `.`, `_`, `-` and `/`.
  public var keysAreIdentifiers: Bool

  /// Node labels: 64 entries, keys 1–128 bytes of `[A-Za-z0-9._/-]`, values up to 256 bytes,
  /// 16 KiB in all.
  public static let labels = StringMapLimits(
    field: "labels",
    maxEntries: 64,
    maxKeyBytes: 128,
    maxValueBytes: 256,
    maxTotalBytes: 16 * 1024,
    keysAreIdentifiers: true
  )

  /// Node metadata: 64 entries, keys 1–128 bytes of `[A-Za-z0-9._/-]`, values up to 1 KiB,
  /// 16 KiB in all.
  public static let metadata = StringMapLimits(
    field: "metadata",
    maxEntries: 64,
    maxKeyBytes: 128,
    maxValueBytes: 1024,
    maxTotalBytes: 16 * 1024,
    keysAreIdentifiers: true
  )

  /// Headers of a routed message: 64 entries, keys 1–128 bytes of `[A-Za-z0-9._/-]`, values
  /// up to 4 KiB, 64 KiB in all.
  public static let messageHeaders = StringMapLimits(
    field: "headers",
    maxEntries: 64,
    maxKeyBytes: 128,
    maxValueBytes: 4096,
    maxTotalBytes: 64 * 1024,
    keysAreIdentifiers: true
  )

  /// Checks `map` against these limits.
  /// - Parameter map: The map a client sent.
  /// - Throws: ``OrchionError`` `invalidArgument` naming the field, the key and the rule.
  public func validate(_ map: [String: String]) throws(OrchionError) {
    guard map.count <= maxEntries else {
      throw .invalidArgument(
        field: field,
        "\(field): \(map.count) entries, at most \(maxEntries) allowed"
      )
    }
    var total = 0
    // Sorted so the same bad input always yields the same message.
    for key in map.keys.sorted() {
      let value = map[key] ?? ""
      let keyBytes = key.utf8.count
      let name = "\(field)[\(TextRules.quoted(key))]"
      guard keyBytes > 0 else {
        throw .invalidArgument(field: field, "\(field): keys must not be empty")
      }
      guard keyBytes <= maxKeyBytes else {
        throw .invalidArgument(
          field: field,
          "\(name): key is \(keyBytes) bytes, at most \(maxKeyBytes) allowed"
        )
      }
      if keysAreIdentifiers, !key.unicodeScalars.allSatisfy(TextRules.isKeyCharacter) {
        throw .invalidArgument(
          field: field,
          "\(name): keys may contain only letters, digits, '.', '_', '-' and '/'"
        )
      }
      guard value.utf8.count <= maxValueBytes else {
        throw .invalidArgument(
          field: field,
          "\(name): value is \(value.utf8.count) bytes, at most \(maxValueBytes) allowed"
        )
      }
      if let scalar = TextRules.firstControlCharacter(in: value) {
        throw .invalidArgument(
          field: field,
          "\(name): value contains control character U+\(String(scalar.value, radix: 16, uppercase: true))"
        )
      }
      total += keyBytes + value.utf8.count
    }
    guard total <= maxTotalBytes else {
      throw .invalidArgument(
        field: field,
        "\(field): \(total) bytes in all, at most \(maxTotalBytes) allowed"
      )
    }
  }
}
