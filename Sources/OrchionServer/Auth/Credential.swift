import Crypto
import Foundation

/// Random secrets and their digests: API tokens and node credentials are both high-entropy
/// random strings, so a SHA-256 digest is all that needs keeping (no salt or slow hash: there
/// is no dictionary to attack), and comparing digests in constant time leaks nothing about how
/// much of a guess was right.
enum Credential {
  /// `count` random bytes from the system's CSPRNG, as lowercase hex.
  static func randomHex(bytes count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in
      let byte = UInt8.random(in: .min ... .max, using: &generator)
      return String(byte, radix: 16).leftPadded(to: 2)
    }.joined()
  }

  /// SHA-256 of `text`.
  static func digest(_ text: String) -> [UInt8] {
    Array(SHA256.hash(data: Data(text.utf8)))
  }

  /// Whether `a` and `b` are equal, in time that depends only on their lengths.
  static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
