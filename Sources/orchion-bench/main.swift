import ArgumentParser
import OrchionCommandLine

// `orchion-bench nodes` holds thousands of connections; the default soft limit of 1,024
// descriptors would end the run long before the orchestrator did.
FileDescriptorLimit.raiseToHardLimit()
// Every bench is a client or simulated node: its jobs run on NIO's event loops (see
// EventLoopExecutor), chosen before anything asynchronous starts.
EventLoopExecutor.install(ifWanted: true)
// The annotation picks `AsyncParsableCommand.main`; top-level code would pick the synchronous one.
let runBench: @Sendable () async -> Void = { await OrchionBench.main() }
await runBench()
