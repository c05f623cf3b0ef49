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

/// Groups through the path a user takes: `orchion run -n` / `--each` / `--first`, `orchion
/// group`, over real agents; and the guarantees behind them across a kill -9.
@Suite("End to end: task groups", .serialized)
struct GroupEndToEndTests {
  /// The group ID `orchion run` reports on standard error.
  static func groupID(in stderr: String) throws -> String {
    let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("orchion: group g") })
    return String(line.dropFirst("orchion: group ".count).prefix(21))
  }

  @Test("run -n 50 over 2 agents: every index exactly once, exit 0; with 3 members failing, exit 1 and the table names them")
  func count() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("group-a")
      try cluster.startAgent("group-b")
      try await cluster.waitForActiveNodes(["group-a", "group-b"])
      let run = try await cluster.orchion(["run", "-n", "50", "--", "sh", "-c", "echo index $ORCHION_INDEX of $ORCHION_COUNT"])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stderr.contains("50/50 done: 50 succeeded, 0 failed"), "\(run.stderr)")
      let group = try Self.groupID(in: run.stderr)
      let logs = try await cluster.orchion(["group", "logs", group])
      #expect(logs.status == 0, "\(logs.stderr)")
      let lines = logs.stdout.split(separator: "\n").map(String.init)
      #expect(lines == (0..<50).map { "[\($0)] index \($0) of 50" })
      let shown = try await cluster.orchion(["group", group, "-o", "json"])
      let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
      let members = try #require(json["members"] as? [[String: Any]])
      #expect(members.count == 50)
      #expect(Set(members.compactMap { $0["nodeId"] as? String }).isSubset(of: ["group-a", "group-b"]))

      let failing = try await cluster.orchion([
        "run", "-n", "10", "--", "sh", "-c", "case $ORCHION_INDEX in 2|5|7) exit 3;; esac",
      ])
      #expect(failing.status == 1, "\(failing.stderr)")
      #expect(failing.stderr.contains("3 of 10 members did not succeed"), "\(failing.stderr)")
      let rows = failing.stderr.split(separator: "\n").filter { $0.contains("FAILED") }
      #expect(rows.compactMap { $0.split(separator: " ").first }.map(String.init) == ["2", "5", "7"], "\(failing.stderr)")

      // Spread: one member per node (binpack, the default, would put both on one).
      for spread in [false, true] {
        let run = try await cluster.orchion(["run", "-n", "2"] + (spread ? ["--spread"] : []) + ["--", "true"])
        #expect(run.status == 0, "\(run.stderr)")
        let shown = try await cluster.orchion(["group", try Self.groupID(in: run.stderr), "-o", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let nodes = (json["members"] as? [[String: Any]] ?? []).compactMap { $0["nodeId"] as? String }
        if spread {
          #expect(Set(nodes) == ["group-a", "group-b"], "\(nodes)")
          #expect(json["spread"] as? Bool == true)
        } else {
          #expect(Set(nodes).count == 1, "binpack placed them apart: the spread check would prove nothing \(nodes)")
        }
      }
    }
  }

  @Test("--each: 100 lines with spaces and quotes, each passed to its member intact, as {} and ORCHION_ITEM")
  func each() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("each-a")
      try cluster.startAgent("each-b")
      try await cluster.waitForActiveNodes(["each-a", "each-b"])
      let items = (0..<100).map { "line \($0): it's \"quoted\", $HOME \\n; `date` *" }
      let file = cluster.directory + "/inputs.txt"
      try (items.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
      let run = try await cluster.orchion(["run", "--each", file, "--", "printf", "%s|%s\\n", "{}", "$ORCHION_ITEM"])
      #expect(run.status == 0, "\(run.stderr)")
      let group = try Self.groupID(in: run.stderr)
      let logs = try await cluster.orchion(["group", "logs", group])
      // No shell: {} is the line itself, and "$ORCHION_ITEM" stays literal.
      #expect(logs.stdout.split(separator: "\n").map(String.init) == items.enumerated().map { "[\($0.offset)] \($0.element)|$ORCHION_ITEM" })
      let viaEnvironment = try await cluster.orchion(["run", "--each", file, "--", "sh", "-c", "printf '%s\\n' \"$ORCHION_ITEM\""])
      let logs2 = try await cluster.orchion(["group", "logs", try Self.groupID(in: viaEnvironment.stderr)])
      #expect(logs2.stdout.split(separator: "\n").map(String.init) == items.enumerated().map { "[\($0.offset)] \($0.element)" })
    }
  }

  @Test("--first 1 --cancel-rest on 5 sleepers: returns with the shortest and cancels the others, their processes gone")
  func firstK() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("first-a")
      try await cluster.waitForActiveNodes(["first-a"])
      let marker = uniqueMarker()
      let run = try await cluster.orchion([
        "run", "-n", "5", "--first", "1", "--cancel-rest", "--", "sh", "-c",
        // The marker rides in the shell's command line, which lives as long as its sleep.
        "sleep $((ORCHION_INDEX * 30 + 1)); echo \(marker)",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      let group = try Self.groupID(in: run.stderr)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await eventually(timeout: .seconds(30)) {
          let members = try await client.tasks.getTaskGroup(.with { $0.groupID = group }).group.members
          return members.map(\.state) == [.succeeded, .cancelled, .cancelled, .cancelled, .cancelled]
        }
        // At least one of the cancelled had a process running: the check below is not vacuous.
        let members = try await client.tasks.getTaskGroup(.with { $0.groupID = group }).group.members
        var started = 0
        for member in members.dropFirst() {
          if try await client.task(member.taskID).hasStartedAt { started += 1 }
        }
        #expect(started >= 1)
      }
      try await eventually(timeout: .seconds(30)) { processes(containing: marker).isEmpty }
    }
  }

  @Test("a 5,000-member group submitted while the orchestrator is killed -9: after restart all 5,000 exist or none")
  func atomicUnderKill() async throws {
    try await Cluster.with { cluster in
      for delay in [0, 40] {
        let key = "atomic-\(delay)-\(uniqueMarker())"
        let submitted = Task {
          try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
            try await client.tasks.submitTaskGroup(
              .with {
                $0.spec = .with { $0.command = ["true"]; $0.nodeID = "nowhere" }
                $0.count = 5_000
                $0.idempotencyKey = key
              }
            ).group.id
          }
        }
        try await Task.sleep(for: .milliseconds(delay))
        try await cluster.killServer()
        let answered = try? await submitted.value
        try await cluster.startServer()
        try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
          // Submitting again with the key finds the group if it was kept, or makes it now.
          let group = try await client.tasks.submitTaskGroup(
            .with {
              $0.spec = .with { $0.command = ["true"]; $0.nodeID = "nowhere" }
              $0.count = 5_000
              $0.idempotencyKey = key
            }
          ).group
          if let answered { #expect(group.id == answered, "an answered submission was lost") }
          #expect(group.size == 5_000)
          var count = 0
          var token = ""
          repeat {
            let page = try await client.tasks.listTasks(.with { $0.pageSize = 1_000; $0.pageToken = token })
            count += page.tasks.filter { $0.groupID == group.id }.count
            token = page.nextPageToken
          } while !token.isEmpty
          #expect(count == 5_000, "delay \(delay): \(count) members")
          _ = try await client.tasks.cancelTaskGroup(.with { $0.groupID = group.id })
        }
      }
    }
  }

  @Test("an idempotency key outlives a kill -9: the same submission after restart is the same task")
  func idempotentAcrossRestart() async throws {
    try await Cluster.with { cluster in
      let request = Orchion_V1_SubmitTaskRequest.with {
        $0.spec = .with { $0.command = ["true"]; $0.nodeID = "nowhere" }
        $0.idempotencyKey = "release-\(uniqueMarker())"
      }
      let first = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        try await $0.tasks.submitTask(request).task
      }
      try await cluster.killServer()
      try await cluster.startServer()
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let again = try await client.tasks.submitTask(request).task
        #expect(again.id == first.id)
        var other = request
        other.spec.name = "different"
        _ = await expectRPCError(.alreadyExists) { try await client.tasks.submitTask(other) }
      }
    }
  }
}
