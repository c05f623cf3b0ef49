import ArgumentParser
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `orchion cordon NODE`: no new tasks on the node.
struct CordonCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cordon",
    abstract: "Place no new tasks on a node; what runs there keeps running."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The node ID.")
  var node: String

  func run() async throws {
    let result = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.nodes.cordonNode(.with { $0.nodeID = node }).node
      }
    }
    Console.line("\(result.id) cordoned")
  }
}

/// `orchion uncordon NODE`: the node takes new tasks again.
struct UncordonCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "uncordon",
    abstract: "Let a cordoned or draining node take new tasks again."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The node ID.")
  var node: String

  func run() async throws {
    let result = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.nodes.uncordonNode(.with { $0.nodeID = node }).node
      }
    }
    Console.line("\(result.id) uncordoned")
  }
}

/// `orchion drain NODE [--deadline 1h] [--force]`: move work off a node.
struct DrainCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drain",
    abstract: "Cordon a node and move its work off.",
    discussion: """
      Running tasks may finish until the deadline; then those still running are stopped and
      requeued elsewhere without using up an attempt. --force stops and requeues them now.
      `orchion uncordon` ends the drain.
      """
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "How long running tasks may go on (e.g. 10m, 1h).")
  var deadline = DurationArgument(.seconds(3600))

  @Flag(help: "Stop and requeue running tasks now.")
  var force = false

  @Argument(help: "The node ID.")
  var node: String

  func run() async throws {
    let result = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.nodes.drainNode(
          .with {
            $0.nodeID = node
            $0.deadline = .init(deadline.duration)
            $0.force = force
          }
        ).node
      }
    }
    Console.line(
      force
        ? "\(result.id) draining: running tasks are being stopped and requeued"
        : "\(result.id) draining: \(result.runningTasks) running task(s) may finish within \(DurationFormat.format(deadline.duration))"
    )
  }
}
