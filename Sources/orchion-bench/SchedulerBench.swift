import ArgumentParser
import Foundation
import OrchionCommandLine
import OrchionCore
import OrchionScheduler

/// `orchion-bench scheduler`: the pure placement function alone, on a synthetic cluster.
struct SchedulerBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scheduler",
    abstract: "Time one scheduling pass of N pending tasks over M nodes, per strategy.",
    discussion: """
      Nodes: 16 cores, 64 GiB, 16 slots, a zone label (4 zones), a GPU on one in ten. Tasks:
      0.25-2 cores, 0.5-4 GiB; one in five selects a zone, one in ten needs a GPU node, priorities
      0-100. Everything comes from a seeded generator, so runs are comparable. Reports the median
      of --runs passes.
      """
  )

  @Option(help: "Nodes in the cluster.")
  var nodes = 10_000

  @Option(help: "Pending tasks in the queue.")
  var tasks = 100_000

  @Option(help: "Passes per strategy; the median is reported.")
  var runs = 5

  @Option(help: "Seed of the generated cluster and queue.")
  var seed: UInt64 = 1

  func validate() throws {
    guard nodes > 0, tasks > 0, runs > 0 else {
      throw ValidationError("--nodes, --tasks and --runs must be positive")
    }
  }

  func run() throws {
    var random = SplitMix64(seed: seed)
    let snapshot = Self.cluster(nodes: nodes, random: &random)
    let queue = Self.queue(tasks: tasks, random: &random)
    Console.line("scheduler: \(nodes) nodes, \(tasks) pending tasks, median of \(runs) passes")
    let clock = ContinuousClock()
    for strategy in PlacementStrategy.allCases {
      let scheduler = StrategyScheduler(strategy: strategy)
      var times: [Duration] = []
      var placed = 0
      for _ in 0..<runs {
        let start = clock.now
        let decision = scheduler.schedule(queue, in: snapshot)
        times.append(start.duration(to: clock.now))
        placed = decision.placements.count
      }
      let median = times.sorted()[times.count / 2]
      Console.line(
        "  \(strategy.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(placed) placed in \(String(format: "%.1f", median.seconds * 1000)) ms = \(String(format: "%.0f", Double(placed) / median.seconds)) placements/s"
      )
    }
  }

  static func cluster(nodes: Int, random: inout SplitMix64) -> ClusterSnapshot {
    let zones = ["a", "b", "c", "d"]
    return ClusterSnapshot(
      nodes: (0..<nodes).map { index in
        let gpu = Int.random(in: 0..<10, using: &random) == 0
        var labels = ["zone": zones[index % zones.count]]
        if gpu { labels["gpu"] = "a100" }
        // "node-N" is always a valid ID.
        let id = (try? NodeID(validating: "node-\(index)")) ?? NodeID.random(using: &random)
        return ClusterSnapshot.Node(
          id: id,
          labels: labels,
          capacity: Resources(cpuMillis: 16_000, memoryBytes: 64 << 30, gpus: gpu ? 1 : 0),
          slots: 16
        )
      }
    )
  }

  static func queue(tasks: Int, random: inout SplitMix64) -> [PendingTask] {
    let zones = ["a", "b", "c", "d"]
    let gpu = LabelConstraint.exists(key: "gpu")
    return (0..<tasks).map { index in
      PendingTask(
        id: TaskID(createdAt: .epoch, sequence: UInt32(index)),
        resources: Resources(
          cpuMillis: Int64.random(in: 1...8, using: &random) * 250,
          memoryBytes: Int64.random(in: 1...8, using: &random) << 29
        ),
        nodeSelector: Int.random(in: 0..<5, using: &random) == 0
          ? ["zone": zones.randomElement(using: &random) ?? "a"] : [:],
        constraints: Int.random(in: 0..<10, using: &random) == 0 ? [gpu] : [],
        priority: Int32.random(in: 0...100, using: &random)
      )
    }.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
  }
}
