import Foundation
import NIOCore
import NIOPosix

/// Where a process runs Swift concurrency's jobs: NIO's event loops, or the cooperative pool.
///
/// The agent and the bench clients run their jobs on NIO's event loops instead of a pool of
/// their own: each stream message and RPC then skips two thread hand-offs (event loop →
/// cooperative pool → event loop). The price: a job that blocks also stalls its event loop's
/// I/O, so nothing in these processes may block (PipeReader and the spawner socket are quick).
/// Measured on two cores (medians, BENCHMARKS.md): `orchion-bench latency` p50 8.9–10.9 →
/// 8.4–9.1 ms with the agents and client switched, and 7.4–7.7 ms with the orchestrator too —
/// but the orchestrator is left on the cooperative pool: with the switch, jobs stay on the
/// event loop that enqueued them, its hot paths ran on one core, and 10,000 simulated nodes got
/// 1,600–2,400 heartbeats/s acknowledged instead of 5,300.
public enum EventLoopExecutor {
  /// Installs NIO's event loops as the global executor when `wanted`; `ORCHION_NIO_EXECUTOR=0`
  /// turns it off and `=1` on whatever `wanted` says, to compare. Call before anything
  /// asynchronous has started: the global executor is chosen once, by the first job.
  public static func install(ifWanted wanted: Bool) {
    let setting = ProcessInfo.processInfo.environment["ORCHION_NIO_EXECUTOR"]
    guard setting == "1" || (wanted && setting != "0") else { return }
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
  }
}

/// A command whose process runs on NIO's event loops (``EventLoopExecutor``).
public protocol RunsOnEventLoops {}
