import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// `/metrics` as Prometheus sees it: the exposition passes `promtool check metrics`, its
/// counters agree with the API, and a real Prometheus server scrapes it with a bearer token.
@Suite("Prometheus metrics")
struct MetricsEndpointTests {
  /// The value of the sample `series` (name with its labels, as exposed) in `exposition`.
  static func sample(_ series: String, in exposition: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
      return Double(line.dropFirst(series.count + 1))
    }
    return nil
  }

  @Test("after 100 tasks /metrics passes promtool and its counters match the API")
  func countersMatchTheAPI() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("metrics-a", slots: 8)
      try await cluster.waitForActiveNodes(["metrics-a"])
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        var ids: [String] = [""]
        for index in 1..<100 {
          ids.append(try await client.submit(["sh", "-c", "exit \(index % 10 == 0 ? 3 : 0)"]).id)
        }
        // A retry with the first task's idempotency key is a call, not a submission.
        let keyed = Orchion_V1_SubmitTaskRequest.with {
          $0.spec = .with { $0.command = ["sh", "-c", "exit 3"] }
          $0.idempotencyKey = "metrics-retry"
        }
        _ = try await client.tasks.submitTask(keyed)
        ids.removeFirst()
        ids.insert(try await client.tasks.submitTask(keyed).task.id, at: 0)
        for id in ids { try await client.waitFor(id) }
        let tasks = try await client.tasks.listTasks(.with { $0.pageSize = 1000 }).tasks
        let succeeded = tasks.filter { $0.state == .succeeded }.count
        let failed = tasks.filter { $0.state == .failed }.count
        #expect(succeeded == 90 && failed == 10)

        let answer = try await http.send("GET", "/metrics", headers: ["Authorization": "Bearer \(testAdminToken)"])
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let metrics = answer.body
        #expect(Self.sample("orchion_task_submissions_total", in: metrics) == 100)
        #expect(Self.sample("orchion_tasks{state=\"succeeded\"}", in: metrics) == Double(succeeded))
        #expect(Self.sample("orchion_tasks{state=\"failed\"}", in: metrics) == Double(failed))
        #expect(Self.sample("orchion_task_attempts_total{outcome=\"succeeded\"}", in: metrics) == 90)
        #expect(Self.sample("orchion_task_attempts_total{outcome=\"failed\"}", in: metrics) == 10)
        #expect(Self.sample("orchion_scheduler_placements_total", in: metrics) == 100)
        #expect(Self.sample("orchion_nodes{status=\"active\"}", in: metrics) == 1)
        #expect(Self.sample("orchion_queue_depth", in: metrics) == 0)
        #expect(Self.sample("orchion_leader", in: metrics) == 1)
        #expect(
          Self.sample(
            "orchion_rpc_requests_total{service=\"orchion.v1.TaskService\",method=\"SubmitTask\",code=\"OK\"}",
            in: metrics
          ) == 101
        )
        #expect((Self.sample("orchion_heartbeats_received_total", in: metrics) ?? 0) > 0)
        #expect((Self.sample("orchion_journal_commit_duration_seconds_count", in: metrics) ?? 0) > 0)
        #expect((Self.sample("orchion_scheduler_pass_duration_seconds_count", in: metrics) ?? 0) > 0)
        #expect((Self.sample("process_resident_memory_bytes", in: metrics) ?? 0) > 1_000_000)
        #expect((Self.sample("process_open_fds", in: metrics) ?? 0) > 0)
        #expect(metrics.contains("orchion_build_info{version=\"\(OrchionVersion.current)\""))

        // promtool reads it from standard input and lints names, types and help.
        let promtool = try ChildProcess("/usr/bin/promtool", ["check", "metrics"], standardInput: metrics)
        let status = try await promtool.waitForExit()
        #expect(status == 0, "promtool:\n\(promtool.standardOutput)\(promtool.standardError)")
      }
    }
  }

  @Test("a real Prometheus server scrapes /metrics with the bearer token and has the series")
  func prometheusScrapes() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("metrics-p")
      try await cluster.waitForActiveNodes(["metrics-p"])
      _ = try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await client.waitFor(try await client.submit(["true"]).id, state: .succeeded)
      }
      let dashboard = try #require(URLComponents(string: try await cluster.dashboardURL()))
      let target = "\(dashboard.host ?? "127.0.0.1"):\(dashboard.port ?? 0)"
      let directory = cluster.directory + "/prometheus"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try Data(testAdminToken.utf8).write(to: URL(fileURLWithPath: directory + "/token"))
      let config = """
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: orchion
            authorization:
              type: Bearer
              credentials_file: \(directory)/token
            static_configs:
              - targets: ["\(target)"]
        """
      try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/prometheus.yml"))
      let port = try freePort()
      let prometheus = try ChildProcess(
        "/usr/bin/prometheus",
        [
          "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
          "--web.listen-address=127.0.0.1:\(port)",
        ]
      )
      defer { prometheus.signal(SIGKILL) }
      let api = HTTPTestClient(base: "http://127.0.0.1:\(port)")
      var last = ""
      do {
        try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
          guard
            let answer = try? await api.send(
              "GET", "/api/v1/query?query=orchion_task_submissions_total")
          else { return false }
          last = answer.body
          return answer.body.contains("\"value\":[") && answer.body.contains("\"1\"]")
        }
      } catch {
        Issue.record("Prometheus never had the series; last answer: \(last)\n\(prometheus.standardError.suffix(2000))")
      }
      let up = try await api.send("GET", "/api/v1/query?query=up%7Bjob%3D%22orchion%22%7D")
      #expect(up.body.contains("\"1\"]"), "the scrape succeeds with the token: \(up.body)")
    }
  }
}
