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

/// Short liveness windows so that node loss happens within seconds.
private let fastLoss = ["--heartbeat-timeout", "1s", "--lost-after", "1s"]

@Suite(
  "End to end: node loss, fencing, priorities, preemption, drain",
  .serialized,
  .timeLimit(.minutes(3))
)
struct SchedulingEndToEndTests {
  @Test(
    "kill -9 of the agent running a task with max_attempts 3: it finishes on the other agent; both attempts recorded"
  )
  func agentKilled() async throws {
    try await Cluster.with(serverArguments: fastLoss) { cluster in
      let first = try cluster.startAgent("first")
      try await cluster.waitForActiveNodes(["first"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        // Long on the first node, whatever the machine's load, so it is still running when that
        // node's agent dies; quick on the other.
        let task = try await client.submit(
          ["sh", "-c", "if [ \"$ORCHION_NODE_ID\" = first ]; then sleep 60; fi; echo done"],
          maxAttempts: 3
        )
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("second")
        try await cluster.waitForActiveNodes(["first", "second"])

        first.signal(SIGKILL)
        let done = try await client.waitFor(task.id)
        #expect(done.state == .succeeded, "\(done)")
        #expect(done.nodeID == "second")
        #expect(done.attempts.map(\.nodeID) == ["first", "second"])
        #expect(done.attempts.map(\.outcome) == [.lost, .succeeded])
        #expect(done.attempts[0].reason.contains("node first was lost"))
        #expect(done.attempts[1].exitCode == 0)
        #expect(try await client.output(task.id).stdout == "done\n")

        // `orchion task ID` shows the attempts.
        let shown = try await cluster.orchion(["task", task.id])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("LOST") && shown.stdout.contains("SUCCEEDED"))
        // Piped into a reader that leaves early, it ends quietly instead of crashing.
        let piped = try ChildProcess(
          "/bin/sh",
          [
            "-c",
            "'\(BuiltProducts.orchion)' task --server \(cluster.address) \(task.id) | head -1 >/dev/null; exit ${PIPESTATUS:-0}",
          ],
          environment: cluster.environment
        )
        #expect(try await piped.waitForExit() == 0)
        #expect(piped.standardError.isEmpty, "\(piped.standardError)")
      }
    }
  }

  @Test(
    "SIGSTOP an agent until DISCONNECTED: its task moves, the frozen node's copy is fenced, the side effect happens once"
  )
  func frozenAgentFenced() async throws {
    try await Cluster.with(serverArguments: fastLoss) { cluster in
      let frozen = try cluster.startAgent("frozen")
      try await cluster.waitForActiveNodes(["frozen"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let effects = cluster.directory + "/effects-\(marker)"
        let task = try await client.submit([
          "sh", "-c", "sleep 5; : \(marker); echo $ORCHION_NODE_ID >> \(effects)",
        ])
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("thawed")
        try await cluster.waitForActiveNodes(["frozen", "thawed"])

        frozen.signal(SIGSTOP)
        defer { frozen.signal(SIGCONT) }
        try await eventually(timeout: .seconds(30)) {
          let moved = try await client.task(task.id)
          return moved.nodeID == "thawed" && moved.state == .running
        }
        // The frozen agent cannot act, but its spawner saw the lease run out: the copy is gone.
        try await eventually(timeout: .seconds(10)) {
          processes(containing: marker, node: "frozen").isEmpty
        }
        frozen.signal(SIGCONT)
        let done = try await client.waitFor(task.id)
        #expect(done.state == .succeeded, "\(done)")
        try await cluster.waitForActiveNodes(["frozen", "thawed"])
        // The frozen copy's processes are gone (above): it can add nothing to the file.
        #expect(try String(contentsOfFile: effects, encoding: .utf8) == "thawed\n")
        #expect(done.attempts.map(\.outcome) == [.lost, .succeeded])
      }
    }
  }

  @Test(
    "with survive_disconnect the frozen node's copy keeps running; after SIGCONT it is stale and killed"
  )
  func survivingCopyKilledWhenStale() async throws {
    try await Cluster.with(serverArguments: fastLoss) { cluster in
      let frozen = try cluster.startAgent("frozen")
      try await cluster.waitForActiveNodes(["frozen"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let effects = cluster.directory + "/effects-\(marker)"
        let task = try await client.submit {
          $0.command = [
            "sh", "-c", "sleep 12; : \(marker); echo $ORCHION_NODE_ID >> \(effects)",
          ]
          $0.surviveDisconnect = true
        }
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("thawed")
        try await cluster.waitForActiveNodes(["frozen", "thawed"])

        frozen.signal(SIGSTOP)
        defer { frozen.signal(SIGCONT) }
        try await eventually(timeout: .seconds(30)) {
          let moved = try await client.task(task.id)
          return moved.nodeID == "thawed" && moved.state == .running
        }
        // Opted out of fencing: still running on the frozen node. No wait is needed: a fenced
        // copy is killed when its lease runs out, which is before the orchestrator may place
        // the task elsewhere (the test above), so at this point it would be gone.
        #expect(!processes(containing: marker, node: "frozen").isEmpty)

        frozen.signal(SIGCONT)
        // It reconnects, reports the attempt, is told it is stale, and kills it.
        try await eventually(timeout: .seconds(15)) {
          processes(containing: marker, node: "frozen").isEmpty
        }
        let done = try await client.waitFor(task.id)
        #expect(done.state == .succeeded)
        #expect(try String(contentsOfFile: effects, encoding: .utf8) == "thawed\n")
      }
    }
  }

  @Test(
    "priorities across 2 agents: the higher priority starts first, and preempts a preemptible low-priority task"
  )
  func prioritiesAndPreemption() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("one", slots: 1)
      try cluster.startAgent("two", slots: 1)
      try await cluster.waitForActiveNodes(["one", "two"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        func submit(_ command: [String], priority: Int32, preemptible: Bool = false)
          async throws -> Orchion_V1_Task
        {
          try await client.submit {
            $0.command = command
            $0.priority = priority
            $0.preemptible = preemptible
          }
        }
        // Both slots taken by preemptible background work.
        let background = [
          try await submit(["sleep", "60"], priority: 10, preemptible: true),
          try await submit(["sleep", "60"], priority: 20, preemptible: true),
        ]
        for task in background { try await client.waitFor(task.id, state: .running) }

        // Queued behind them: low first, then high. No preemption for equal-or-lower work...
        let low = try await submit(["true"], priority: 5)
        // ...but an urgent task evicts the lowest-priority preemptible one.
        let urgent = try await submit(["sh", "-c", "sleep 1; echo urgent"], priority: 90)
        let done = try await client.waitFor(urgent.id)
        #expect(done.state == .succeeded)

        let evicted = try await client.task(background[0].id)
        #expect(evicted.attempts.first?.outcome == .preempted, "\(evicted)")
        #expect(
          evicted.attempts.first?.reason.contains("preempted by higher-priority task") == true
        )
        #expect(try await client.task(background[1].id).attempts.count == 1)
        // The evicted task got its slot back (higher priority than `low`), without using an
        // attempt; `low` still waits.
        let back = try await client.waitFor(background[0].id, state: .running)
        #expect(back.attempt == 2)
        #expect(try await client.task(low.id).state == .pending)

        for task in background + [low] {
          _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        }
      }
    }
  }

  @Test("a failing task is retried after growing delays, then fails; attempts recorded")
  func retriesWithBackoff() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit {
          $0.command = ["sh", "-c", "exit 3"]
          $0.maxAttempts = 3
          $0.retryBackoff = .with { $0.nanos = 300_000_000 }
        }
        let done = try await client.waitFor(task.id)
        #expect(done.state == .failed)
        #expect(done.exitCode == 3)
        #expect(done.attempts.map(\.outcome) == [.failed, .failed, .failed])
        #expect(done.attempts.map(\.exitCode) == [3, 3, 3])
        func nanoseconds(_ time: Google_Protobuf_Timestamp) -> Int64 {
          time.seconds * 1_000_000_000 + Int64(time.nanos)
        }
        // 300 ms before the second attempt, 600 ms before the third.
        let gaps = zip(done.attempts, done.attempts.dropFirst()).map { previous, next in
          nanoseconds(next.assignedAt) - nanoseconds(previous.finishedAt)
        }
        #expect(gaps.count == 2)
        #expect(gaps.count == 2 && gaps[0] >= 300_000_000 && gaps[1] >= 600_000_000, "\(gaps)")

        // An exit code outside retry_exit_codes fails at once.
        let picky = try await client.submit {
          $0.command = ["sh", "-c", "exit 4"]
          $0.maxAttempts = 5
          $0.retryExitCodes = [75]
        }
        let failed = try await client.waitFor(picky.id)
        #expect(failed.state == .failed)
        #expect(failed.attempts.count == 1)
        #expect(failed.message.contains("not retried"))
      }
    }
  }

  @Test(
    "named resources: an agent offering tool/claude=1 runs one such task at a time; a constraint picks the node"
  )
  func namedResourcesAndConstraints() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("plain", labels: ["tier": "cheap"])
      try cluster.startAgent(
        "claude",
        labels: ["tier": "gpu"],
        extra: ["--resource", "tool/claude=1"]
      )
      try await cluster.waitForActiveNodes(["plain", "claude"])
      var ids: [String] = []
      for _ in 0..<2 {
        let run = try await cluster.orchion([
          "run", "--detach", "--resource", "tool/claude=1", "--", "sleep", "2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        ids.append(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      let constrained = try await cluster.orchion([
        "run", "--detach", "--constraint", "tier notin (gpu)", "--", "true",
      ])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        // One seat: the second starts only once the first has ended. (Timestamps, not a
        // look at the running window: on a loaded machine a 2 s task can be over before a
        // poll sees it RUNNING.)
        let firstDone = try await client.waitFor(ids[0])
        let second = try await client.waitFor(ids[1])
        #expect(firstDone.state == .succeeded)
        #expect(second.state == .succeeded)
        #expect(firstDone.nodeID == "claude")
        #expect(second.nodeID == "claude")
        #expect(
          firstDone.finishedAt.seconds * 1_000_000_000 + Int64(firstDone.finishedAt.nanos)
            <= second.startedAt.seconds * 1_000_000_000 + Int64(second.startedAt.nanos)
        )
        let id = constrained.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let other = try await client.waitFor(id)
        #expect(other.nodeID == "plain")
      }
    }
  }

  @Test("a higher-priority task queued behind a lower one starts first")
  func priorityOrder() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo", slots: 1)
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        // The blocker holds the only slot until all three are queued, however slow the machine.
        let release = cluster.directory + "/release-\(uniqueMarker())"
        let blocker = try await client.submit([
          "sh", "-c", "while [ ! -e \(release) ]; do sleep 0.05; done",
        ])
        try await client.waitFor(blocker.id, state: .running)
        var ids: [String] = []
        for priority: Int32 in [20, 80, 50] {
          ids.append(
            try await client.submit {
              $0.command = ["true"]
              $0.priority = priority
            }.id
          )
        }
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        var started: [(Int, Int64)] = []
        for (index, id) in ids.enumerated() {
          let task = try await client.waitFor(id)
          #expect(task.state == .succeeded)
          started.append(
            (index, task.startedAt.seconds * 1_000_000_000 + Int64(task.startedAt.nanos))
          )
        }
        // 80 first, then 50, then 20.
        #expect(started.sorted { $0.1 < $1.1 }.map(\.0) == [1, 2, 0])
      }
    }
  }

  @Test(
    "`orchion drain --force` moves a running task to another node; the drained node takes no new work"
  )
  func drainMovesWork() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("old")
      try await cluster.waitForActiveNodes(["old"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sleep", "60"])
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("new")
        try await cluster.waitForActiveNodes(["old", "new"])

        let drain = try await cluster.orchion(["drain", "old", "--force"])
        #expect(drain.status == 0, "\(drain.stderr)")
        let moved = try await client.waitFor(task.id, state: .running)
        #expect(moved.nodeID == "new")
        #expect(moved.attempts.map(\.outcome) == [.drained, .active])
        #expect(moved.attempt == 2)

        // Empty now: the drain is complete and the node stays cordoned.
        try await eventually {
          try await cluster.orchion(["nodes"]).stdout.contains("ACTIVE,CORDONED")
        }
        // New work avoids the drained node.
        for _ in 0..<3 {
          let fresh = try await client.waitFor(try await client.submit(["true"]).id)
          #expect(fresh.nodeID == "new")
        }
        let uncordon = try await cluster.orchion(["uncordon", "old"])
        #expect(uncordon.status == 0)
        #expect(try await !client.nodes.getNode(.with { $0.nodeID = "old" }).node.cordoned)
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
      }
    }
  }

  @Test("a drain with a deadline lets running tasks finish; `orchion cordon` keeps new work off")
  func drainWithDeadline() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("busy", labels: ["role": "busy"])
      try await cluster.waitForActiveNodes(["busy"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sh", "-c", "sleep 3; echo finished"])
        try await client.waitFor(task.id, state: .running)
        let drain = try await cluster.orchion(["drain", "busy", "--deadline", "1m"])
        #expect(drain.status == 0, "\(drain.stderr)")
        #expect(try await cluster.orchion(["nodes"]).stdout.contains("ACTIVE,DRAINING"))
        let done = try await client.waitFor(task.id)
        #expect(done.state == .succeeded)
        #expect(done.attempts.count == 1)
        // Its last task ended: the drain is complete, the node stays cordoned.
        try await eventually {
          let node = try await client.nodes.getNode(.with { $0.nodeID = "busy" }).node
          return node.cordoned && !node.hasDrainDeadline
        }

        _ = try await cluster.orchion(["uncordon", "busy"])
        let cordon = try await cluster.orchion(["cordon", "busy"])
        #expect(cordon.status == 0)
        // A task only the cordoned node could take stays pending. Passes take the queue in
        // order, so once a later task has been placed on another node, a pass has seen this one.
        try cluster.startAgent("spare")
        try await cluster.waitForActiveNodes(["spare"])
        let waiting = try await client.submit {
          $0.command = ["true"]
          $0.nodeSelector = ["role": "busy"]
        }
        let probe = try await client.waitFor(try await client.submit(["true"]).id)
        #expect(probe.nodeID == "spare")
        #expect(try await client.task(waiting.id).state == .pending)
        _ = try await cluster.orchion(["uncordon", "busy"])
        #expect(try await client.waitFor(waiting.id).state == .succeeded)
      }
    }
  }
}

/// Processes whose command line contains `marker` and that run for node `node` (by the
/// `ORCHION_NODE_ID` their agent gave them).
func processes(containing marker: String, node: String) -> [Int32] {
  processes(containing: marker).filter { pid in
    guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else {
      return false
    }
    return environment.split(separator: 0).contains {
      Array($0) == Array("ORCHION_NODE_ID=\(node)".utf8)
    }
  }
}
