import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("End to end: agents and orchestrator restarting", .serialized, .timeLimit(.minutes(3)))
struct ResilienceTests {
  @Test(
    "an agent killed with SIGKILL leaves no task processes behind, rejoins when restarted, and the task runs again"
  )
  func agentKilledAndRestarted() async throws {
    try await Cluster.with { cluster in
      let agent = try cluster.startAgent("phoenix")
      try await cluster.waitForActiveNodes(["phoenix"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let task = try await client.submit(["sh", "-c", "sleep 1\(marker) & sleep 2\(marker)"])
        try await client.waitFor(task.id, state: .running)
        try await eventually { processes(containing: marker).count >= 2 }

        agent.signal(SIGKILL)
        _ = try await agent.waitForExit()
        // No orphans: the spawner takes the task's whole process group down with the agent.
        try await eventually(timeout: .seconds(5)) { processes(containing: marker).isEmpty }

        try cluster.startAgent("phoenix")
        try await cluster.waitForActiveNodes(["phoenix"])
        // The new agent does not run the old attempt: the task is requeued and runs again.
        try await eventually(timeout: .seconds(30)) {
          let current = try await client.task(task.id)
          return current.attempt == 2 && current.state == .running
        }
        try await eventually { processes(containing: marker).count >= 2 }
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        #expect(try await client.waitFor(task.id).state == .cancelled)
      }
    }
  }

  @Test(
    "the agent's spawner killed: the task's processes go, its attempt fails, the agent starts a new spawner for the retry"
  )
  func spawnerKilled() async throws {
    try await Cluster.with { cluster in
      let agent = try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let task = try await client.submit(
          ["sh", "-c", "sleep 1\(marker) & sleep 2\(marker)"],
          maxAttempts: 2
        )
        try await client.waitFor(task.id, state: .running)
        try await eventually { processes(containing: marker).count >= 2 }
        let firstAttempt = Set(processes(containing: marker))
        let spawners = childProcesses(of: agent.pid, named: "orchion-spawner")
        #expect(spawners.count == 1)
        for spawner in spawners { kill(spawner, SIGKILL) }

        // The command dies with the spawner (its parent-death signal), and the agent takes down
        // the rest of its group: the background sleep too.
        try await eventually(timeout: .seconds(5)) {
          firstAttempt.isDisjoint(with: processes(containing: marker))
        }
        try await eventually(timeout: .seconds(10)) {
          let current = try await client.task(task.id)
          return current.attempt == 2 && current.state == .running
        }
        let first = try await client.task(task.id).attempts[0]
        #expect(first.outcome == .failed)
        #expect(first.reason.contains("spawner"))
        // The retry runs under a new spawner.
        try await eventually { processes(containing: marker).count >= 2 }
        let replacement = childProcesses(of: agent.pid, named: "orchion-spawner")
        #expect(replacement.count == 1)
        #expect(replacement.isDisjoint(with: spawners))
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        #expect(try await client.waitFor(task.id).state == .cancelled)
      }
    }
  }

  @Test("an orchestrator killed and restarted is rejoined by its agents on their own")
  func orchestratorRestarted() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("one")
      try cluster.startAgent("two")
      try await cluster.waitForActiveNodes(["one", "two"])
      try await cluster.restartServer()
      try await cluster.waitForActiveNodes(["one", "two"], timeout: .seconds(40))
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.waitFor(try await client.submit(["echo", "back"]).id)
        #expect(task.state == .succeeded)
        #expect(try await client.output(task.id).stdout == "back\n")
      }
    }
  }

  @Test("a SIGTERM'd agent hands its running task back; it runs again elsewhere")
  func agentGracefulShutdown() async throws {
    try await Cluster.with { cluster in
      let leaving = try cluster.startAgent("leaving")
      try await cluster.waitForActiveNodes(["leaving"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        // Long enough that the stop, not its own end, is what ends it however slow the machine.
        let task = try await client.submit(["sh", "-c", "sleep 60\(marker); echo done"])
        try await client.waitFor(task.id, state: .running)
        leaving.signal(SIGTERM)
        #expect(
          try await leaving.waitForExit(timeout: .seconds(20)) == 0,
          "\(leaving.standardError)"
        )
        #expect(processes(containing: marker).isEmpty)
        let requeued = try await client.task(task.id)
        #expect(requeued.state == .pending, "\(requeued)")
        try cluster.startAgent("staying")
        try await eventually { try await client.task(task.id).nodeID == "staying" }
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
      }
    }
  }
}

@Suite("End to end: starting and stopping in any order", .serialized, .timeLimit(.minutes(2)))
struct OrderingTests {
  @Test("an agent started while its orchestrator is down keeps trying and joins once it is up")
  func agentBeforeOrchestrator() async throws {
    try await Cluster.with { cluster in
      try await cluster.killServer()
      try cluster.startAgent("early")
      let agent = try #require(cluster.agent("early"))
      // It has tried and failed at least once before the orchestrator exists.
      _ = try await agent.waitForOutput(containing: "cannot reach the orchestrator", timeout: .seconds(30))
      try await cluster.startServer()
      try await cluster.waitForActiveNodes(["early"], timeout: .seconds(30))
    }
  }

  @Test(
    "SIGTERM stops the orchestrator promptly with exit 0 even while agents hold their streams open"
  )
  func orchestratorShutdownWithAgents() async throws {
    // With a one-minute grace, a stream that held shutdown up would blow the 15 s wait below.
    try await Cluster.with(serverArguments: ["--shutdown-grace", "1m"]) { cluster in
      try cluster.startAgent("one")
      try cluster.startAgent("two")
      try await cluster.waitForActiveNodes(["one", "two"])
      cluster.server.signal(SIGTERM)
      #expect(
        try await cluster.server.waitForExit(timeout: .seconds(15)) == 0,
        "\(cluster.server.standardError)"
      )
    }
  }
}
