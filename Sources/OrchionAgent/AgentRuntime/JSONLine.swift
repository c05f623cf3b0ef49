import Foundation

/// One JSON object read from a CLI's output line, with typed, forgiving accessors: a field that
/// is missing or of another type reads as absent, never as an error (CLIs add and change
/// fields between releases).
struct JSONLine {
  let object: [String: Any]

  /// The object on `line`; `nil` when the line is not a JSON object.
  init?(_ line: some Collection<UInt8>) {
    guard line.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "{"),
      let value = try? JSONSerialization.jsonObject(with: Data(line), options: []),
      let object = value as? [String: Any]
    else { return nil }
    self.object = object
  }

  init(object: [String: Any]) {
    self.object = object
  }

  func string(_ key: String) -> String? { object[key] as? String }

  func bool(_ key: String) -> Bool? { (object[key] as? NSNumber)?.boolValue }

  /// A whole number that fits Int64 (a float or out-of-range number reads as absent).
  func integer(_ key: String) -> Int64? {
    guard let number = object[key] as? NSNumber else { return nil }
    let double = number.doubleValue
    guard double.isFinite, double >= -9.2e18, double <= 9.2e18, double.rounded() == double else {
      return nil
    }
    return number.int64Value
  }

  func double(_ key: String) -> Double? {
    guard let double = (object[key] as? NSNumber)?.doubleValue, double.isFinite else { return nil }
    return double
  }

  func object(_ key: String) -> JSONLine? {
    (object[key] as? [String: Any]).map(JSONLine.init(object:))
  }

  func objects(_ key: String) -> [JSONLine] {
    ((object[key] as? [Any]) ?? []).compactMap { ($0 as? [String: Any]).map(JSONLine.init(object:)) }
  }

  /// The value under `key` as JSON text (`""` when absent).
  func json(_ key: String) -> String {
    guard let value = object[key] else { return "" }
    return Self.text(of: value)
  }

  /// `value` as JSON text; a string is itself.
  static func text(of value: Any) -> String {
    if let string = value as? String { return string }
    guard
      let data = try? JSONSerialization.data(
        withJSONObject: value,
        options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]
      )
    else { return "" }
    return String(decoding: data, as: UTF8.self)
  }
}
