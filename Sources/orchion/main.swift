import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

// The agent and the bench clients run Swift concurrency's jobs on NIO's event loops instead of
// a pool of their own: each stream message and RPC then skips two thread hand-offs (event
// loop → cooperative pool → event loop). The price: a job that blocks also stalls its event
// loop's I/O, so nothing in these processes may block (PipeReader and the spawner socket are
// quick). Measured on two cores (medians, BENCHMARKS.md): `bench latency` p50 8.9–10.9 →
// 8.4–9.1 ms with the agents and client switched, and 7.4–7.7 ms with the orchestrator too —
// but the orchestrator is left on the cooperative pool: with the switch, jobs stay on the
// event loop that enqueued them, its hot paths ran on one core, and 10,000 simulated nodes got
// 1,600–2,400 heartbeats/s acknowledged instead of 5,300.
// ORCHION_NIO_EXECUTOR=0 turns it off (=1 turns it on for any command), to compare.
let switched = ["agent", "bench"].contains(CommandLine.arguments.dropFirst().first ?? "")
let setting = ProcessInfo.processInfo.environment["ORCHION_NIO_EXECUTOR"]
if setting == "1" || (switched && setting != "0") {
  NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
// Every agent holds a connection, and a flood of idle ones must not starve the rest: the
// default soft limit of 1,024 descriptors would refuse callers long before memory ran out.
FileDescriptorLimit.raiseToHardLimit()
// The annotation picks `AsyncParsableCommand.main`; top-level code would pick the synchronous one.
let runCommand: @Sendable () async -> Void = { await Orchion.main() }
await runCommand()
