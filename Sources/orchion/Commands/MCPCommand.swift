import ArgumentParser
import MCP
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionMCP

/// `orchion mcp`: an MCP server on stdin/stdout for a coding agent on this machine
/// (`claude mcp add orchion -- orchion mcp`), with the CLI's address and token. The same
/// tools as the orchestrator's `/mcp`.
struct MCPCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mcp",
    abstract: "Serve Orchion's MCP tools on stdin/stdout, for a coding agent (Claude Code, Codex, Cursor).",
    discussion: """
      Speaks MCP (JSON-RPC, one message per line) on stdin and stdout and calls the \
      orchestrator over gRPC with this CLI's --server and token (--token, ORCHION_TOKEN, \
      ~/.orchion/config). Give it an agent token (orchion token create --agent): it may run, \
      read and cancel tasks but not manage tokens, secrets or nodes. Inside a task, ORCHION_TOKEN \
      is the task's own: it may fan out, then follow only the tasks it started. Nothing but MCP \
      is written to stdout; diagnostics go to stderr.
      """
  )

  @OptionGroup var client: ClientOptions

  func run() async throws {
    try await client.connect { client in
      let server = await OrchionMCPServer.make(
        toolbox: OrchionToolbox(client: client),
        authorization: nil,
        version: OrchionVersion.current
      )
      try await server.start(transport: StdioTransport())
      await server.waitUntilCompleted()
    }
  }
}
