import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion secret`: task secrets (needs an admin token).
struct SecretCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "secret",
    abstract: "Set, list and remove task secrets.",
    discussion: """
      A task receives a secret as an environment variable: orchion run --secret-env \
      ANTHROPIC_API_KEY=anthropic -- claude … Values are encrypted at rest, sent to a node \
      only for the attempt that needs them, and never shown again.
      """,
    subcommands: [SecretSetCommand.self, SecretListCommand.self, SecretRemoveCommand.self]
  )
}

struct SecretSetCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "set",
    abstract: "Create or replace a secret; the value is read from standard input.",
    discussion: """
      One trailing newline is dropped (echo and editors add one): \
      printf %s "$KEY" | orchion secret set anthropic
      """
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The secret's name: lowercase letters, digits, '-', '_' and '.'.")
  var name: String

  func validate() throws {
    do {
      try SecretName.validate(name, field: "NAME")
    } catch {
      throw ValidationError(error.message)
    }
  }

  func run() async throws {
    var value = FileHandle.standardInput.readDataToEndOfFile()
    if value.last == UInt8(ascii: "\n") { value.removeLast() }
    if value.last == UInt8(ascii: "\r") { value.removeLast() }
    let request = Orchion_V1_SetSecretRequest.with {
      $0.name = name
      $0.value = value
    }
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.secrets.setSecret(request) }
    }
    Console.line("\(response.created ? "created" : "updated") secret \(response.info.name)")
  }
}

struct SecretListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "List secrets by name (never their values)."
  )

  @OptionGroup var client: ClientOptions

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.secrets.listSecrets(.init()) }
    }
    switch output {
    case .json:
      Console.line(try response.jsonString())
    case .table:
      var table = TextTable(columns: ["NAME", "CREATED", "UPDATED"])
      for secret in response.secrets {
        table.append([secret.name, secret.createdAt.displayText, secret.updatedAt.displayText])
      }
      Console.write(table.render())
    }
  }
}

struct SecretRemoveCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm",
    abstract: "Remove a secret (tasks that name it fail their next attempt)."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The secret's name.")
  var name: String

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.secrets.deleteSecret(.with { $0.name = name }) }
    }
    Console.line("removed secret \(response.info.name)")
  }
}
