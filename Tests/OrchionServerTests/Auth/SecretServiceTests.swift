import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionStore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("Secrets API")
struct SecretServiceTests {
  func set(_ client: InProcessClient, _ name: String, _ value: String) async throws
    -> Orchion_V1_SetSecretResponse
  {
    try await client.secrets.setSecret(
      .with {
        $0.name = name
        $0.value = Data(value.utf8)
      }
    )
  }

  @Test("set, replace, list by name only, remove; tasks may only name secrets that exist")
  func lifecycle() async throws {
    try await withOrchestrator { _, client in
      #expect(try await set(client, "anthropic", "sk-one").created)
      #expect(try await !set(client, "anthropic", "sk-two").created)
      let listed = try await client.secrets.listSecrets(.init())
      #expect(listed.secrets.map(\.name) == ["anthropic"])
      #expect(!(try listed.jsonString()).contains("sk-"))

      let missing = await #expect(throws: RPCError.self) {
        try await client.tasks.submitTask(
          .with {
            $0.spec.command = ["true"]
            $0.spec.secretEnv = ["KEY": "openai"]
          }
        )
      }
      #expect(missing?.code == .failedPrecondition)
      #expect(missing?.message.contains("openai") == true)
      let task = try await client.tasks.submitTask(
        .with {
          $0.spec.command = ["true"]
          $0.spec.secretEnv = ["KEY": "anthropic"]
        }
      ).task
      #expect(task.spec.secretEnv == ["KEY": "anthropic"])
      #expect(!(try task.jsonString()).contains("sk-"))

      _ = try await client.secrets.deleteSecret(.with { $0.name = "anthropic" })
      let gone = await #expect(throws: RPCError.self) {
        try await client.secrets.deleteSecret(.with { $0.name = "anthropic" })
      }
      #expect(gone?.code == .notFound)
    }
  }

  @Test(
    "bad names, values and references are INVALID_ARGUMENT and change nothing",
    arguments: [
      ("", "v"), ("UPPER", "v"), ("-lead", "v"), ("has space", "v"),
      (String(repeating: "a", count: 129), "v"), ("ok", "nul\u{0}inside"), ("ok", ""),
      ("ok", String(repeating: "x", count: 32 * 1024 + 1)),
    ]
  )
  func badSecrets(name: String, value: String) async throws {
    try await withOrchestrator { _, client in
      let refused = await #expect(throws: RPCError.self) { try await set(client, name, value) }
      #expect(refused?.code == .invalidArgument)
      let secrets = try await client.secrets.listSecrets(.init()).secrets
      #expect(secrets.isEmpty)
    }
  }

  @Test(
    "secret_env: variable names and secret names are checked, and may not repeat env",
    arguments: [["1BAD": "s"], ["GOOD": "Bad Name"], ["HOME": "s"]]
  )
  func badReferences(secretEnv: [String: String]) async throws {
    try await withOrchestrator { _, client in
      _ = try await set(client, "s", "v")
      let refused = await #expect(throws: RPCError.self) {
        try await client.tasks.submitTask(
          .with {
            $0.spec.command = ["true"]
            $0.spec.env = ["HOME": "/tmp"]
            $0.spec.secretEnv = secretEnv
          }
        )
      }
      #expect(refused?.code == .invalidArgument)
      #expect(try await client.tasks.listTasks(.init()).tasks.isEmpty)
    }
  }

  @Test("values are encrypted at rest: the database never holds one; they survive a restart")
  func encryptedAtRest() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-secrets-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.store = .sqlite(path: directory + "/orchion.db")
      $0.secretsKey = Array(repeating: 7, count: 32)
    }
    let value = "sk-ant-\(UUID().uuidString)"
    try await withOrchestrator(configuration: configuration) { _, client in
      _ = try await set(client, "anthropic", value)
    }
    for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
      let data = FileManager.default.contents(atPath: directory + "/" + file) ?? Data()
      #expect(data.range(of: Data(value.utf8)) == nil, "\(file) holds the value")
      #expect(data.range(of: Data(value.utf8.dropFirst(7))) == nil, "\(file) holds part of it")
    }
    try await withOrchestrator(configuration: configuration) { _, client in
      let names = try await client.secrets.listSecrets(.init()).secrets.map(\.name)
      #expect(names == ["anthropic"])
    }
  }
}
