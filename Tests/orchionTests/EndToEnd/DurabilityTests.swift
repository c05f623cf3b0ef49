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

@Suite(
  "End to end: state survives kill -9 of the orchestrator",
  .serialized,
  .timeLimit(.minutes(3))
)
struct DurabilityTests {
  @Test("100 acknowledged PENDING tasks survive kill -9 and all complete once an agent joins")
  func pendingSurvive() async throws {
    try await Cluster.with { cluster in
      var ids: [String] = []
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        for index in 0..<100 { ids.append(try await client.submit(["echo", "\(index)"]).id) }
      }
      try await cluster.restartServer()
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let pending = try await client.tasks.listTasks(
          .with {
            $0.state = .pending
            $0.pageSize = 1000
          }
        ).tasks
        #expect(Set(pending.map(\.id)) == Set(ids))

        try cluster.startAgent("late", slots: 8)
        for (index, id) in ids.enumerated() {
          let task = try await client.waitFor(id)
          #expect(task.state == .succeeded)
          #expect(task.attempt == 1)
          #expect(try await client.output(id).stdout == "\(index)\n")
        }
      }
    }
  }

  @Test(
    "5 RUNNING tasks carry on through kill -9 of the orchestrator: each completes once, side effect once, output whole"
  )
  func runningSurvive() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("steady", slots: 8)
      try await cluster.waitForActiveNodes(["steady"])
      let effects = cluster.directory + "/effects"
      try FileManager.default.createDirectory(atPath: effects, withIntermediateDirectories: true)
      var ids: [String] = []
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        for index in 0..<5 {
          let task = try await client.submit([
            "sh", "-c",
            "echo ran >> \(effects)/\(index); echo before; sleep 3; echo after",
          ])
          ids.append(task.id)
        }
        for id in ids { try await client.waitFor(id, state: .running) }
        // The processes have started (and written their side effect) before the crash.
        try await eventually {
          (0..<5).allSatisfy { FileManager.default.fileExists(atPath: "\(effects)/\($0)") }
        }
      }
      try await cluster.restartServer()
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        for id in ids {
          let task = try await client.waitFor(id)
          #expect(task.state == .succeeded, "\(task)")
          #expect(task.attempt == 1, "\(task)")
          #expect(try await client.output(id).stdout == "before\nafter\n")
        }
      }
      for index in 0..<5 {
        let lines = try String(contentsOfFile: "\(effects)/\(index)", encoding: .utf8)
        #expect(lines == "ran\n", "task \(index) ran \(lines.split(separator: "\n").count) times")
      }
    }
  }

  @Test("a finished task, its attempts and its output are still there after kill -9")
  func finishedSurvive() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      let id = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        client in
        let task = try await client.submit(["sh", "-c", "seq 1 500; echo oops >&2; exit 3"])
        #expect(try await client.waitFor(task.id).state == .failed)
        return task.id
      }
      try await cluster.restartServer()
      let logs = try await cluster.orchion(["logs", id])
      #expect(logs.status == 0, "\(logs.stderr)")
      #expect(logs.stdout == (1...500).map { "\($0)\n" }.joined())
      #expect(logs.stderr.contains("oops"))
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.task(id)
        #expect(task.state == .failed)
        #expect(task.exitCode == 3)
        #expect(task.attempts.count == 1)
        #expect(task.attempts.first?.outcome == .failed)
      }
    }
  }

  @Test(
    "an attempt whose agent never comes back after the restart is lost after lost-after and runs elsewhere"
  )
  func silentAfterRestart() async throws {
    try await Cluster.with(serverArguments: ["--heartbeat-timeout", "1s", "--lost-after", "2s"]) {
      cluster in
      let doomed = try cluster.startAgent("doomed")
      try await cluster.waitForActiveNodes(["doomed"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sleep", "30"])
        try await client.waitFor(task.id, state: .running)
        try await cluster.killServer()
        doomed.signal(SIGKILL)
        _ = try await doomed.waitForExit()
        try await cluster.startServer()

        let restored = try await client.task(task.id)
        #expect(restored.state == .running)
        #expect(restored.nodeID == "doomed")
        // Lost once lost-after has passed with no word from its agent: requeued, not failed.
        let requeued = try await client.waitFor(task.id, state: .pending, timeout: .seconds(20))
        #expect(requeued.attempts.first?.outcome == .lost)
        try cluster.startAgent("rescuer")
        let running = try await client.waitFor(task.id, state: .running)
        #expect(running.nodeID == "rescuer")
        #expect(running.attempt == 2)
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
      }
    }
  }

  @Test(
    "`orchion admin export` writes nodes, tasks and output as JSON lines while the orchestrator runs"
  )
  func export() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("exported")
      try await cluster.waitForActiveNodes(["exported"])
      let id = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        client in
        let task = try await client.submit(["echo", "exported output"])
        #expect(try await client.waitFor(task.id).state == .succeeded)
        return task.id
      }
      let export = try await exportState(dataDir: cluster.directory + "/server")
      #expect(export.status == 0, "\(export.stderr)")
      let records = try export.stdout.split(separator: "\n").map { line in
        try #require(
          try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          "not a JSON object: \(line)"
        )
      }
      let node = try #require(records.first?["node"] as? [String: Any])
      #expect((node["node"] as? [String: Any])?["id"] as? String == "exported")
      let taskIndex = try #require(
        records.firstIndex {
          (($0["task"] as? [String: Any])?["task"] as? [String: Any])?["id"] as? String == id
        }
      )
      let log = try #require(records[taskIndex + 1]["log"] as? [String: Any])
      let data = try #require((log["chunk"] as? [String: Any])?["data"] as? String)
      #expect(Data(base64Encoded: data) == Data("exported output\n".utf8))

      let missing = try await exportState(dataDir: cluster.directory + "/none")
      #expect(missing.status != 0)
      #expect(missing.stderr.contains("no database"), "\(missing.stderr)")
    }
  }

  private func exportState(dataDir: String) async throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let process = try ChildProcess(
      BuiltProducts.orchion,
      ["admin", "export", "--data-dir", dataDir]
    )
    let status = try await process.waitForExit()
    return (status, process.standardOutput, process.standardError)
  }
}
