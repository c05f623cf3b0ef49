import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion-bench footprint`: start-up time and idle memory of `orchion up`, server and agent.
struct FootprintBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "footprint",
    abstract: "Time `orchion up` to its first served RPC; report idle RSS of up, server and agent.",
    discussion: """
      Each process is started from the `orchion` beside this executable with a fresh data directory (so `up` and \
      `server` do their first-start work: database, tokens). Start-up is from launching the \
      process to the first health check answered SERVING, polled every millisecond; RSS is read \
      from /proc after it has been idle for --idle.
      """
  )

  @Option(help: "How long each process idles before its RSS is read.")
  var idle = DurationArgument(.seconds(3))

  @Option(help: "Start-up measurements to take (of `orchion up`).")
  var runs = 5

  func validate() throws {
    guard runs > 0 else { throw ValidationError("--runs must be positive") }
  }

  func run() async throws {
    var startups: [Duration] = []
    var upRSS: Int64 = 0
    for run in 1...runs {
      let directory = try BenchEnvironment.scratchDirectory("up")
      let port = try BenchEnvironment.freePort()
      let clock = ContinuousClock()
      let start = clock.now
      let up = try BenchProcess(
        ["up", "--port", "\(port)", "--http-port", "0", "--data-dir", directory],
        environment: ["ORCHION_CONFIG": directory + "/client-config", "ORCHION_TOKEN": ""]
      )
      try await Self.waitUntilServing(port: port)
      startups.append(start.duration(to: clock.now))
      if run == runs {
        try await Task.sleep(for: idle.duration)
        upRSS = try Self.residentBytes(of: up.pid)
      }
      up.stop()
      try? FileManager.default.removeItem(atPath: directory)
    }
    let sorted = startups.sorted()
    Console.line(
      "orchion up: first RPC served after median \(BenchEnvironment.milliseconds(sorted[sorted.count / 2])) (min \(BenchEnvironment.milliseconds(sorted[0])), max \(BenchEnvironment.milliseconds(sorted[sorted.count - 1])), \(runs) runs); idle RSS \(Quantity.bytes(upRSS))"
    )

    // The orchestrator and an agent on their own.
    let cluster = try BenchCluster("footprint", logged: false)
    defer { cluster.stop() }
    let (server, address, token) = (cluster.server, cluster.address, cluster.token)
    try await Self.waitUntilServing(port: address.port)
    let agent = try cluster.startAgent("footprint")
    try await withOrchionClient(server: address, token: token) { client in
      try await FailoverBench.waitForActive(["footprint"], client: client)
    }
    try await Task.sleep(for: idle.duration)
    let serverRSS = try Self.residentBytes(of: server.pid)
    let agentRSS = try Self.residentBytes(of: agent.pid)
    Console.line(
      "idle RSS: orchestrator \(Quantity.bytes(serverRSS)) (one node joined), agent \(Quantity.bytes(agentRSS)) (PSS \(Quantity.bytes(ProcessUsage.proportionalBytes(of: agent.pid) ?? 0)))"
    )

    // Once it has run a task, an agent has its spawner too (forked from it: most pages shared).
    try await withOrchionClient(server: address, token: token) { client in
      let id = try await client.tasks.submitTask(.with { $0.spec.command = ["/bin/true"] }).task.id
      _ = try await BenchWork.waitForEnd(id, client: client)
    }
    try await Task.sleep(for: idle.duration)
    let processes = [agent.pid] + ProcessUsage.children(of: agent.pid, named: "orchion-spawner")
    let resident = try processes.reduce(Int64(0)) { $0 + (try Self.residentBytes(of: $1)) }
    let proportional = processes.reduce(Int64(0)) {
      $0 + (ProcessUsage.proportionalBytes(of: $1) ?? 0)
    }
    Console.line(
      "agent after its first task, with its spawner (\(processes.count) processes): RSS \(Quantity.bytes(resident)), PSS \(Quantity.bytes(proportional))"
    )
  }

  /// The process's resident memory, from /proc.
  /// - Throws: When it cannot be read (the process has exited).
  static func residentBytes(of pid: Int32) throws -> Int64 {
    guard let usage = ProcessUsage(pid: pid) else {
      throw OrchionError.unavailable("cannot read /proc/\(pid): has the process exited?")
    }
    return usage.residentBytes
  }

  /// Polls every millisecond until the port accepts connections and `grpc.health.v1` answers
  /// SERVING. Each poll is a fresh connection: a gRPC client that failed to connect waits out
  /// its reconnect backoff (a second), which would be measured instead of the server.
  static func waitUntilServing(port: Int) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(60))
    let server = ServerAddress(host: "127.0.0.1", port: port)
    while ContinuousClock.now < deadline {
      if BenchEnvironment.accepts(port: port) {
        let status = try? await withOrchionClient(server: server) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(5)
          return try await client.health.check(.init(), options: options).status
        }
        if status == .serving { return }
      }
      try await Task.sleep(for: .milliseconds(1))
    }
    throw OrchionError.unavailable("nothing served on port \(port) within 60 s")
  }
}
