import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// Runs N tasks one after another and reports submit-to-finish percentiles.
struct LatencyBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "latency",
    abstract: "Run N tasks one by one; report p50/p90/p99 submit-to-SUCCEEDED."
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Tasks to run.")
  var count = 1000

  func run() async throws {
    let clock = ContinuousClock()
    let (samples, submits, failures) = try await client.connect { client in
      var samples: [Duration] = []
      var submits: [Duration] = []
      var failures = 0
      for _ in 0..<count {
        let start = clock.now
        let id = try await client.tasks.submitTask(.with { $0.spec.command = ["/bin/true"] }).task
          .id
        let submitted = clock.now
        let state = try await BenchWork.waitForEnd(id, client: client)
        samples.append(start.duration(to: clock.now))
        submits.append(start.duration(to: submitted))
        if state != .succeeded { failures += 1 }
      }
      return (samples.sorted(), submits.sorted(), failures)
    }
    func percentile(_ p: Double, of samples: [Duration]) -> String {
      let index = min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)
      return String(format: "%.2f ms", samples[max(0, index)].seconds * 1000)
    }
    Console.line(
      "latency: \(count) sequential tasks, p50 \(percentile(0.5, of: samples)), p90 \(percentile(0.9, of: samples)), p99 \(percentile(0.99, of: samples)), max \(percentile(1, of: samples))"
    )
    // Where the time goes: the durable submit, then the run until the task's output stream
    // ends with its final state.
    Console.line(
      "  of which: submit p50 \(percentile(0.5, of: submits)); \(failures) not succeeded"
    )
  }
}
