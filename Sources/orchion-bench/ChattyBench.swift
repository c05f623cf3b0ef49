import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion-bench chatty`: what a task printing many small lines costs the orchestrator.
struct ChattyBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chatty",
    abstract:
      "Run a task printing N lines, one write each; report the orchestrator's CPU per 1,000 chunks.",
    discussion: """
      Starts its own orchestrator (SQLite state in a scratch directory, on loopback) and one \
      agent from the `orchion` beside this executable ($ORCHION_BINARY overrides), then a task (`orchion-bench` itself) writing N lines with \
      one write(2) each, as fast as it can or --every-microseconds apart. The orchestrator's CPU time (user + system, from \
      /proc/PID/stat) is read before the task is submitted and after its output stream has \
      ended; the chunks it received are the last chunk's sequence + 1 (the agent sends each \
      read of the task's pipe as one chunk, so lines written faster than the agent reads share \
      a chunk). Ticks are 1/\(Int(ProcessUsage.ticksPerSecond)) s.
      """
  )

  @Option(help: "Lines the task prints.")
  var lines = 100_000

  @Option(help: "Runs (each a new task on the same cluster).")
  var runs = 1

  @Option(help: "Pause between lines, in microseconds (0: as fast as the task can write).")
  var everyMicroseconds = 0

  /// Task mode: this executable is the chatty task (a shell cannot pause under a millisecond
  /// without starting a process per line).
  @Flag(help: .hidden)
  var emit = false

  func validate() throws {
    guard lines > 0 else { throw ValidationError("--lines must be positive") }
    guard runs > 0 else { throw ValidationError("--runs must be positive") }
    guard everyMicroseconds >= 0 else {
      throw ValidationError("--every-microseconds must not be negative")
    }
  }

  func run() async throws {
    if emit {
      try await emitLines()
      return
    }
    let cluster = try BenchCluster("chatty")
    defer { cluster.stop() }
    try cluster.startAgent("bench-chatty")
    try await withOrchionClient(server: cluster.address, token: cluster.token) { client in
      try await FailoverBench.waitForActive(["bench-chatty"], client: client)
      for run in 1...runs {
        let result = try await measure(client, serverPID: cluster.server.pid)
        let perThousand = result.chunks > 0 ? result.cpu * 1000 / Double(result.chunks) : 0
        Console.line(
          "chatty run \(run): \(lines) lines in \(result.chunks) chunks, \(String(format: "%.2f", result.elapsed)) s; orchestrator CPU \(String(format: "%.0f", result.cpu * 1000)) ms = \(String(format: "%.2f", perThousand * 1000)) ms per 1,000 chunks"
        )
      }
    }
  }

  /// The task: `lines` lines on standard output, one write(2) each, `everyMicroseconds` apart.
  private func emitLines() async throws {
    for index in 0..<lines {
      let line = Array("line \(index)\n".utf8)
      let written = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
      guard written == line.count else { throw ExitCode.failure }
      if everyMicroseconds > 0 { try await Task.sleep(for: .microseconds(everyMicroseconds)) }
    }
  }

  /// Runs one chatty task to its end.
  private func measure(
    _ client: OrchionNetworkClient,
    serverPID: Int32
  ) async throws -> (chunks: Int64, cpu: Double, elapsed: Double) {
    guard let before = ProcessUsage(pid: serverPID) else {
      throw OrchionError(code: .internalError, message: "cannot read /proc/\(serverPID)/stat")
    }
    let clock = ContinuousClock()
    let start = clock.now
    let command = [
      BenchProcess.this, "chatty", "--emit", "--lines", "\(lines)",
      "--every-microseconds", "\(everyMicroseconds)",
    ]
    let task = try await client.tasks.submitTask(.with { $0.spec.command = command }).task
    // Following to the end: the stream ends once the task is terminal and its output stored.
    let (last, final) = try await client.tasks.streamTaskLogs(
      .with {
        $0.taskID = task.id
        $0.follow = true
      }
    ) { response in
      var last: Int64 = -1
      var final: Orchion_V1_Task?
      for try await chunk in response.messages {
        if chunk.hasFinalTask { final = chunk.finalTask }
        if chunk.stream == .stdout { last = max(last, chunk.sequence) }
      }
      return (last, final)
    }
    let elapsed = start.duration(to: clock.now)
    guard let after = ProcessUsage(pid: serverPID) else {
      throw OrchionError(code: .internalError, message: "the orchestrator exited")
    }
    guard final?.state == .succeeded else {
      throw OrchionError(
        code: .internalError,
        message: "the chatty task did not succeed: \(String(describing: final))"
      )
    }
    let ticks = after.cpuTicks - before.cpuTicks
    return (last + 1, Double(ticks) / ProcessUsage.ticksPerSecond, elapsed.seconds)
  }
}
