import ArgumentParser
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `orchion token`: API tokens (needs an admin token).
struct TokenCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "token",
    abstract: "Create, list and revoke API tokens.",
    discussion: """
      Admin tokens may do everything; join tokens may only register nodes and run their agents \
      (give them to machines: orchion agent --server HOST:PORT --token T); read tokens may only \
      look (nodes, tasks, output, the dashboard, /metrics); agent tokens are for a person's own \
      coding agent over MCP (run, read and cancel tasks, list nodes, messages; no tokens, \
      secrets or node management). Tokens are stored \
      hashed: a token is shown once, when it is created.
      """,
    subcommands: [TokenCreateCommand.self, TokenListCommand.self, TokenRevokeCommand.self]
  )
}

struct TokenCreateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create",
    abstract: "Create a token and print it (it is shown only this once)."
  )

  @OptionGroup var client: ClientOptions

  @Flag(
    help:
      "A join token (for machines' agents), a read token (looking only), an agent token (MCP: run and watch tasks) or an admin token (everything)."
  )
  var kind: Kind

  @Option(help: "How long the token is valid (e.g. 24h, 30m; default: until revoked).")
  var ttl: DurationArgument?

  @Option(help: "What the token is for, shown by `orchion token list`.")
  var description = ""

  enum Kind: String, EnumerableFlag {
    case join, read, agent, admin
  }

  func validate() throws {
    if let ttl, ttl.duration <= .zero { throw ValidationError("--ttl must be positive") }
  }

  func run() async throws {
    let request = Orchion_V1_CreateTokenRequest.with {
      switch kind {
      case .join: $0.kind = .join
      case .read: $0.kind = .read
      case .agent: $0.kind = .agent
      case .admin: $0.kind = .admin
      }
      if let ttl { $0.ttl = .init(ttl.duration) }
      $0.description_p = description
    }
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.tokens.createToken(request) }
    }
    Console.line(response.token)
  }
}

struct TokenListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "List tokens (IDs and kinds; never the tokens themselves)."
  )

  @OptionGroup var client: ClientOptions

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.tokens.listTokens(.init()) }
    }
    switch output {
    case .json:
      Console.line(try response.jsonString())
    case .table:
      var table = TextTable(columns: ["ID", "KIND", "CREATED", "EXPIRES", "DESCRIPTION"])
      for token in response.tokens {
        table.append([
          token.id, Self.label(of: token.kind),
          token.createdAt.displayText,
          token.hasExpiresAt ? token.expiresAt.displayText : "never", token.description_p,
        ])
      }
      Console.write(table.render())
    }
  }
}

extension TokenListCommand {
  static func label(of kind: Orchion_V1_TokenKind) -> String {
    switch kind {
    case .join: "join"
    case .read: "read"
    case .agent: "agent"
    case .admin, .unspecified, .UNRECOGNIZED: "admin"
    }
  }
}

struct TokenRevokeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revoke",
    abstract: "Revoke a token: it stops working at once."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The token's ID, as `orchion token list` shows it.")
  var id: String

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.tokens.revokeToken(.with { $0.id = id }) }
    }
    Console.line("revoked \(response.info.id)")
  }
}
