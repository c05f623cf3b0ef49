/// Values guaranteed to differ from a given one, for tests that present a wrong credential or
/// token: a "wrong" value built by chance (a random one, or a fixed first character) can equal
/// the right one and make a refusal test pass or fail by luck.
public enum DifferentValue {
  /// `hex` with its first character replaced by another hexadecimal digit: the same length and
  /// alphabet, so it passes any format check, but never equal to `hex`.
  public static func hex(_ hex: String) -> String {
    let replacement: Character = hex.first == "0" ? "1" : "0"
    return String(replacement) + hex.dropFirst()
  }
}
