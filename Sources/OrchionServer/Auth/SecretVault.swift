import Crypto
import Foundation
import OrchionCore

/// Encrypts task secrets at rest: AES-256-GCM with a key kept outside the store (in the data
/// dir, `secrets.key`), the secret's name as associated data so a sealed value cannot be moved
/// to another name. A copy of the database alone reveals no value.
struct SecretVault: Sendable {
  private let key: SymmetricKey

  /// Key size in bytes.
  static let keyBytes = 32

  /// - Throws: `invalidArgument` unless `key` is 32 bytes.
  init(key: [UInt8]) throws(OrchionError) {
    guard key.count == Self.keyBytes else {
      throw .invalidArgument("the secrets key must be \(Self.keyBytes) bytes, not \(key.count)")
    }
    self.key = SymmetricKey(data: key)
  }

  /// A fresh random key.
  static func randomKey() -> [UInt8] {
    SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
  }

  /// nonce ‖ ciphertext ‖ tag.
  func seal(_ value: Data, name: String) throws -> Data {
    guard
      let combined = try AES.GCM.seal(value, using: key, authenticating: Data(name.utf8)).combined
    else { throw OrchionError(code: .internalError, message: "AES-GCM gave no combined box") }
    return combined
  }

  /// The value sealed under `name`.
  /// - Throws: When it was sealed with another key or under another name, or was altered.
  func open(_ sealed: Data, name: String) throws -> Data {
    try AES.GCM.open(
      AES.GCM.SealedBox(combined: sealed),
      using: key,
      authenticating: Data(name.utf8)
    )
  }
}
