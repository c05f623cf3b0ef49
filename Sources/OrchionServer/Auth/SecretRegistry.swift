import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The task secrets: set, listed by name and removed by admins; their values leave only in the
/// assignment of an attempt whose spec names them (`secret_env`), and are kept sealed
/// (``SecretVault``) in memory and in the store.
final class SecretRegistry: Sendable {
  /// The longest value, in bytes (an environment variable's value).
  static let maxValueBytes = 32 * 1024
  /// The most secrets kept.
  static let maxSecrets = 10_000

  private let secrets = Mutex<[String: Orchion_V1_StoredSecret]>([:])
  private let vault: SecretVault
  private let journal: Journal
  private let clock: any WallClock
  private let logger: Logger

  init(vault: SecretVault, journal: Journal, clock: any WallClock, logger: Logger) {
    self.vault = vault
    self.journal = journal
    self.clock = clock
    self.logger = logger
  }

  /// Replaces the secrets held with those the store holds.
  func restore(_ records: [KeyedRecord]) throws(OrchionError) {
    var loaded: [String: Orchion_V1_StoredSecret] = [:]
    for record in records {
      do {
        loaded[record.id] = try Orchion_V1_StoredSecret(serializedBytes: record.body)
      } catch {
        throw .dataLoss("stored secret '\(record.id)' is unreadable: \(error)")
      }
    }
    secrets.withLock { $0 = loaded }
  }

  /// Creates or replaces a secret, and waits until it is durable.
  func set(name: String, value: Data) async throws -> (info: Orchion_V1_SecretInfo, created: Bool) {
    try SecretName.validate(name, field: "name")
    guard !value.isEmpty else {
      throw OrchionError.invalidArgument(
        field: "value",
        "value: empty (orchion secret set reads the value from standard input)"
      )
    }
    guard value.count <= Self.maxValueBytes else {
      throw OrchionError.invalidArgument(
        field: "value",
        "value: at most \(Self.maxValueBytes) bytes"
      )
    }
    guard String(data: value, encoding: .utf8) != nil, !value.contains(0) else {
      throw OrchionError.invalidArgument(
        field: "value",
        "value: must be UTF-8 text without NUL (it becomes an environment variable)"
      )
    }
    let sealed = try vault.seal(value, name: name)
    let now = clock.now
    let (stored, created) = try secrets.withLock { secrets throws(OrchionError) in
      let previous = secrets[name]
      guard previous != nil || secrets.count < Self.maxSecrets else {
        throw .resourceExhausted("at most \(Self.maxSecrets) secrets")
      }
      let stored = Orchion_V1_StoredSecret.with {
        $0.info.name = name
        $0.info.createdAt = previous?.info.createdAt ?? .init(now)
        $0.info.updatedAt = .init(now)
        $0.sealed = sealed
      }
      secrets[name] = stored
      return (stored, previous == nil)
    }
    let sequence = journal.append([
      .recordSaved(KeyedRecord(kind: .secret, id: name, body: try stored.serializedBytes()))
    ])
    try await journal.waitUntilDurable(sequence)
    return (stored.info, created)
  }

  /// Every secret's name and times, by name.
  func list() -> [Orchion_V1_SecretInfo] {
    secrets.withLock { $0.values.map(\.info).sorted { $0.name < $1.name } }
  }

  /// Whether a secret of that name exists.
  func contains(_ name: String) -> Bool {
    secrets.withLock { $0[name] != nil }
  }

  /// Removes a secret, and waits until that is durable.
  /// - Throws: `notFound` when there is none by that name.
  func delete(_ name: String) async throws -> Orchion_V1_SecretInfo {
    try SecretName.validate(name, field: "name")
    guard let removed = secrets.withLock({ $0.removeValue(forKey: name) }) else {
      throw OrchionError.notFound("no secret is named '\(name)'")
    }
    let sequence = journal.append([.recordDeleted(.secret, id: name)])
    try await journal.waitUntilDurable(sequence)
    return removed.info
  }

  /// The values for an attempt, by environment variable. A secret removed since the task was
  /// submitted (or unreadable) is left out; the agent fails the attempt naming it.
  func values(for secretEnvironment: [String: String]) -> [String: String] {
    guard !secretEnvironment.isEmpty else { return [:] }
    let sealed = secrets.withLock { secrets in secretEnvironment.mapValues { secrets[$0]?.sealed } }
    var values: [String: String] = [:]
    for (variable, name) in secretEnvironment {
      guard let box = sealed[variable] ?? nil else { continue }
      do {
        values[variable] = String(decoding: try vault.open(box, name: name), as: UTF8.self)
      } catch {
        logger.error(
          "a secret cannot be decrypted: was the secrets key replaced?",
          metadata: ["orchion.secret": "\(name)"]
        )
      }
    }
    return values
  }
}
