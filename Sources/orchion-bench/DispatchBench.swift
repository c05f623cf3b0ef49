import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// Submits N tasks at once and times first submit to last SUCCEEDED.
struct DispatchBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dispatch",
    abstract: "Submit N tasks at once; report tasks/s to the last SUCCEEDED."
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Tasks to run.")
  var count = 1000

  @Option(help: "Concurrent submitters and watchers.")
  var concurrency = 32

  @Argument(parsing: .postTerminator, help: "The command each task runs (default /bin/true).")
  var command: [String] = []

  func run() async throws {
    let argv = command.isEmpty ? ["/bin/true"] : command
    let clock = ContinuousClock()
    let (elapsed, failures) = try await client.connect { client in
      let start = clock.now
      let ids = try await BenchWork.concurrently(count, width: concurrency) { _ in
        try await client.tasks.submitTask(.with { $0.spec.command = argv }).task.id
      }
      // Tasks start in submission order: follow the last one, then make sure of the rest.
      if let last = ids.last { _ = try await BenchWork.waitForEnd(last, client: client) }
      let failures = try await BenchWork.waitForAll(Set(ids), client: client)
      return (start.duration(to: clock.now), failures)
    }
    Console.line(
      "dispatch: \(count) tasks in \(String(format: "%.3f", elapsed.seconds)) s = \(String(format: "%.0f", Double(count) / elapsed.seconds)) tasks/s, \(failures) not succeeded"
    )
  }
}
