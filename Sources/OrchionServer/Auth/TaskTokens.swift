import Crypto
import Foundation
import OrchionCore

/// The tokens tasks get in `ORCHION_TOKEN`: `task.<task-id>.<attempt-id>.<mac>`, an HMAC-SHA256
/// of the task and attempt under a key derived from the secrets key. Nothing is stored: every
/// orchestrator sharing the secrets key (a restarted one, a new leader) verifies them, and a
/// token is worth only as long as its attempt is the task's current one (the router checks),
/// so it dies with its attempt without any revocation list.
struct TaskTokens: Sendable {
  static let prefix = "task."
  private let key: SymmetricKey

  /// - Parameter secretsKey: The orchestrator's secrets key (see ``SecretVault``).
  init(secretsKey: [UInt8]) {
    key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: secretsKey),
      info: Data("orchion task tokens v1".utf8),
      outputByteCount: 32
    )
  }

  /// The token for one attempt of a task.
  func token(task: TaskID, attempt: AttemptID) -> String {
    Self.prefix + task.rawValue + "." + attempt.rawValue + "." + mac(task: task, attempt: attempt)
  }

  /// The task and attempt a token names, if it is one of ours; `nil` for anything else
  /// (including API tokens, which never start with `task.`).
  func verify(_ token: String) -> (task: TaskID, attempt: AttemptID)? {
    guard token.hasPrefix(Self.prefix) else { return nil }
    let parts = token.dropFirst(Self.prefix.count).split(
      separator: ".",
      omittingEmptySubsequences: false
    )
    guard parts.count == 3, let task = try? TaskID(validating: String(parts[0])),
      let attempt = try? AttemptID(validating: String(parts[1]))
    else { return nil }
    let expected = Array(mac(task: task, attempt: attempt).utf8)
    guard Credential.equal(expected, Array(parts[2].utf8)) else { return nil }
    return (task, attempt)
  }

  private func mac(task: TaskID, attempt: AttemptID) -> String {
    let message = Data("\(task.rawValue)\u{0}\(attempt.rawValue)".utf8)
    return HMAC<SHA256>.authenticationCode(for: message, using: key)
      .map {
        String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
      }
      .joined()
  }
}
