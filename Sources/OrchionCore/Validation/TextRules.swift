/// Character rules shared by identifiers, label keys and free text.
public enum TextRules {
  /// Letters, digits, `.`, `_` and `-` (ASCII only): safe in file names, URLs and logs.
  static func isIdentifierCharacter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
    default: false
    }
  }

  /// Label keys additionally allow `/` so keys can be namespaced (`orchion.io/os`, `gpu/model`).
  static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
    isIdentifierCharacter(scalar) || scalar == "/"
  }

  /// The first control character in `text` (C0, DEL, C1), if any. Such characters corrupt
  /// terminals and log lines, so Orchion refuses them in anything it stores.
  public static func firstControlCharacter(in text: String) -> Unicode.Scalar? {
    text.unicodeScalars.first { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
  }

  /// A printable rendering of a user-supplied value for an error message: escaped and cut short,
  /// so a hostile value cannot flood or corrupt the message.
  public static func quoted(_ text: String, limit: Int = 40) -> String {
    let escaped = text.unicodeScalars.prefix(limit).map { $0.escaped(asASCII: true) }.joined()
    return "'" + escaped + (text.unicodeScalars.count > limit ? "…" : "") + "'"
  }
}
