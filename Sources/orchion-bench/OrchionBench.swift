import ArgumentParser
import OrchionCommandLine

/// `orchion-bench`: load generators and fault injectors that measure Orchion from the outside,
/// as a client, a node or a failing machine would. Kept out of the `orchion` executable so the
/// product ships no load generators and each can grow without bloating the CLI.
struct OrchionBench: AsyncParsableCommand, RunsOnEventLoops {
  static let configuration = CommandConfiguration(
    commandName: "orchion-bench",
    abstract:
      "Measure a running cluster (dispatch, latency, submit, nodes), the scheduler alone, or clusters of its own (failover, footprint, messages, chatty).",
    subcommands: [
      DispatchBench.self, LatencyBench.self, SchedulerBench.self, NodesBench.self, SubmitBench.self,
      FailoverBench.self, FootprintBench.self, MessagesBench.self, ChattyBench.self,
      DashboardBench.self, GroupBench.self,
    ]
  )
}
