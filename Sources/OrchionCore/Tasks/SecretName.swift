/// The rules for a secret's name (`orchion secret set NAME`): what `spec.secret_env` refers to.
public enum SecretName {
  /// The longest name, in bytes.
  public static let maxBytes = 128

  /// Checks that `name` is 1–128 characters of lowercase letters, digits, `-`, `_` and `.`,
  /// starting with a letter or digit (as Kubernetes' secret names, plus `_`).
  /// - Throws: `invalidArgument` naming `field` and the rule.
  public static func validate(_ name: String, field: String) throws(OrchionError) {
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
    }
    guard !name.isEmpty, name.utf8.count <= maxBytes, allowed,
      let first = name.unicodeScalars.first, first != "-", first != "_", first != "."
    else {
      throw .invalidArgument(
        field: field,
        "\(field): secret names are 1-\(maxBytes) lowercase letters, digits, '-', '_' or '.', starting with a letter or digit (got \(TextRules.quoted(name)))"
      )
    }
  }
}
