import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore

/// `orchion dashboard`: a one-time login link for the web dashboard (needs an admin or read
/// token), as Jupyter prints one.
struct DashboardCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dashboard",
    abstract: "Print a one-time login link to the web dashboard (valid 2 minutes).",
    discussion: """
      The link logs a browser in as this CLI's token: an admin token may cancel tasks, a read \
      token (orchion token create --read) may only look. The session lasts 12 hours, or until \
      the token is revoked.
      """
  )

  @OptionGroup var client: ClientOptions

  @Flag(help: "Open the link in the default browser (xdg-open) too.")
  var open = false

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.tokens.createLoginLink(.init()) }
    }
    Console.line(response.url)
    Console.error("(works once, until \(response.expiresAt.displayText))")
    guard open else { return }
    let opener = ["/usr/bin/xdg-open", "/usr/local/bin/xdg-open", "/usr/bin/open"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let opener else {
      Console.error("no browser opener found (xdg-open): open the link above by hand")
      return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: opener)
    process.arguments = [response.url]
    try process.run()
  }
}
