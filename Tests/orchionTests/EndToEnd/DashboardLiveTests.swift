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

/// The dashboard live: a real headless Chromium against a real orchestrator and two agents,
/// and the Server-Sent Events stream resumed after a dropped connection and a kill -9.
@Suite("Dashboard live")
struct DashboardLiveTests {
  /// Where the browser test leaves its screenshots (git-ignored; CI keeps it as an artifact).
  static let screenshots = BuiltProducts.repositoryRoot + "/test-artifacts/dashboard"

  @Test("in a real browser: refused without a session, logged in by link, both nodes, live output, cancel in place")
  func browser() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("browser-a")
      try cluster.startAgent("browser-b")
      try await cluster.waitForActiveNodes(["browser-a", "browser-b"])
      let base = try await cluster.dashboardURL()
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit {
          $0.name = "ticker"
          $0.command = [
            "sh", "-c",
            "i=0; while true; do i=$((i+1)); echo \"tick $i $(date +%s%3N)\"; sleep 1; done",
          ]
        }
        try await client.waitFor(task.id, state: .running)
        let link = try await DashboardHTTPTests.loginLink(cluster, token: testAdminToken)
        let script = BuiltProducts.repositoryRoot + "/Tests/Interop/dashboard_browser.py"
        let python = try ChildProcess(
          "/usr/bin/env",
          [
            "python3", script, "--base", base, "--login", link, "--task", task.id,
            "--nodes", "browser-a,browser-b", "--screenshots", Self.screenshots,
          ]
        )
        let status = try await python.waitForExit(timeout: .seconds(180))
        #expect(status == 0, "stdout:\n\(python.standardOutput)\nstderr:\n\(python.standardError)")
        #expect(python.standardOutput.contains("all checks passed"))
        // The button really cancelled it.
        let ended = try await client.waitFor(task.id)
        #expect(ended.state == .cancelled)
        for name in ["01-no-session", "02-overview", "03-nodes", "05-task-live", "06-task-cancelled"] {
          #expect(FileManager.default.fileExists(atPath: "\(Self.screenshots)/\(name).png"), "\(name)")
        }
      }
    }
  }

  /// Reads events with the SSE test client: (event, id, data) in order.
  private static func readEvents(
    url: String,
    lastEventID: String?,
    count: Int
  ) async throws -> [(event: String, id: String?, data: String)] {
    var arguments = [
      "python3", BuiltProducts.repositoryRoot + "/Tests/Interop/sse_client.py",
      "--url", url, "--token", testAdminToken, "--count", "\(count)",
    ]
    if let lastEventID { arguments += ["--last-event-id", lastEventID] }
    let python = try ChildProcess("/usr/bin/env", arguments)
    let status = try await python.waitForExit(timeout: .seconds(90))
    #expect(status == 0, "stdout:\n\(python.standardOutput)\nstderr:\n\(python.standardError)")
    return try python.standardOutput.split(separator: "\n").map { line in
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      )
      return (object["event"] as? String ?? "", object["id"] as? String, object["data"] as? String ?? "")
    }
  }

  /// The line numbers the output events carry (`"line N\n"`).
  private static func lines(_ events: [(event: String, id: String?, data: String)]) -> [Int] {
    events.filter { $0.event == "output" }.compactMap { event in
      guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
        let text = object["text"] as? String
      else { return nil }
      return Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("line ".count))
    }
  }

  @Test("SSE: after Last-Event-ID N come the events after N, exactly once, also across a kill -9 of the orchestrator")
  func resume() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("sse-a")
      try await cluster.waitForActiveNodes(["sse-a"])
      let task = try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sh", "-c", "for i in $(seq 1 30); do echo line $i; sleep 0.2; done"])
        try await client.waitFor(task.id, state: .running)
        return task
      }
      let first = try await Self.readEvents(
        url: try await cluster.dashboardURL() + "/tasks/\(task.id)/events",
        lastEventID: nil,
        count: 5
      )
      #expect(first.map(\.id) == ["0", "1", "2", "3", "4"])
      #expect(Self.lines(first) == [1, 2, 3, 4, 5])

      // A dropped connection: the browser comes back with the last ID it had.
      let second = try await Self.readEvents(
        url: try await cluster.dashboardURL() + "/tasks/\(task.id)/events",
        lastEventID: "4",
        count: 3
      )
      #expect(second.map(\.id) == ["5", "6", "7"])
      #expect(Self.lines(second) == [6, 7, 8])

      // The orchestrator dies and comes back (on another HTTP port); the rest, once.
      try await cluster.restartServer()
      let rest = try await Self.readEvents(
        url: try await cluster.dashboardURL() + "/tasks/\(task.id)/events",
        lastEventID: "7",
        count: 0
      )
      #expect(rest.last?.event == "final")
      let restIDs = rest.compactMap(\.id).compactMap(Int.init)
      #expect(restIDs == Array(8..<(8 + restIDs.count)), "no gap, no duplicate: \(restIDs)")
      #expect(Self.lines(first) + Self.lines(second) + Self.lines(rest) == Array(1...30))
    }
  }

  @Test("SIGTERM ends live streams first: the orchestrator exits 0 without waiting out its shutdown grace")
  func shutdownEndsStreams() async throws {
    try await Cluster.with(serverArguments: ["--shutdown-grace", "120s"]) { cluster in
      try cluster.startAgent("sse-z")
      try await cluster.waitForActiveNodes(["sse-z"])
      let task = try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await client.submit(["sh", "-c", "echo started; sleep 600"])
      }
      let follower = try ChildProcess(
        "/usr/bin/env",
        [
          "python3", BuiltProducts.repositoryRoot + "/Tests/Interop/sse_client.py",
          "--url", try await cluster.dashboardURL() + "/tasks/\(task.id)/events",
          "--token", testAdminToken, "--timeout", "300",
        ]
      )
      _ = try await follower.waitForOutput(containing: "started")
      cluster.server.signal(SIGTERM)
      // A stream left open would hold the shutdown for the whole 120 s grace.
      #expect(try await cluster.server.waitForExit(timeout: .seconds(60)) == 0, "\(cluster.server.standardError)")
      #expect(try await follower.waitForExit(timeout: .seconds(30)) == 0, "the stream ended: \(follower.standardError)")
    }
  }
}
