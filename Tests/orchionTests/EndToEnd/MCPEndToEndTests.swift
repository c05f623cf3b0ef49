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

/// Orchion's MCP server driven by a client nobody here wrote — the Python MCP SDK — over the
/// orchestrator's Streamable HTTP endpoint and over `orchion mcp` on stdio, against a real
/// orchestrator and two real agents.
@Suite("MCP end to end", .serialized)
struct MCPEndToEndTests {
  static let client = BuiltProducts.repositoryRoot + "/Tests/Interop/mcp_client.py"
  static let tools: Set<String> = [
    "list_nodes", "run_task", "wait_tasks", "get_task", "get_logs", "cancel_task",
    "send_message", "receive_messages", "get_result",
  ]

  enum Transport: String, CaseIterable, Sendable {
    case http, stdio
  }

  @Test(
    "10 copies over 2 agents: tools listed with schemas, wait until all succeeded, log pages = orchion logs, cancel, bad arguments",
    arguments: Transport.allCases
  )
  func fanout(_ transport: Transport) async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("mcp-a")
      try cluster.startAgent("mcp-b")
      try await cluster.waitForActiveNodes(["mcp-a", "mcp-b"])
      let token = try await Self.agentToken(cluster)
      let endpoint: [String] =
        switch transport {
        case .http: ["--http", try await cluster.dashboardURL() + "/mcp", "--token", token]
        case .stdio:
          ["--stdio", BuiltProducts.orchion, "mcp", "--server", "\(cluster.address)", "--token", token]
        }
      let summary = try await Self.runClient(endpoint, environment: cluster.environment)

      #expect(summary["protocol"] as? String == "2025-11-25")
      #expect(summary["subscribe"] as? Bool == true)
      #expect(Set(summary["tools"] as? [String] ?? []) == Self.tools)
      let schemas = try #require(summary["schemas"] as? [String: [String: Any]])
      for tool in Self.tools {
        #expect(schemas[tool]?["input"] as? String == "object", "\(tool)")
        #expect(schemas[tool]?["output"] as? String == "object", "\(tool)")
      }
      for tool in ["list_nodes", "wait_tasks", "get_task", "get_logs", "get_result"] {
        #expect(schemas[tool]?["read_only"] as? Bool == true, "\(tool)")
      }
      #expect(schemas["cancel_task"]?["destructive"] as? Bool == true)
      #expect(schemas["run_task"]?["read_only"] as? Bool == false)
      #expect(summary["nodes"] as? [String] == ["mcp-a", "mcp-b"])

      // Ten copies, all succeeded within the waits, each told its index.
      let ids = try #require(summary["task_ids"] as? [String])
      #expect(ids.count == 10 && Set(ids).count == 10)
      // One group, queued all or none.
      let group = try #require(summary["group_id"] as? String)
      #expect(group.hasPrefix("g"))
      #expect(summary["finished"] as? Int == 10)
      #expect(summary["states"] as? [String] == Array(repeating: "SUCCEEDED", count: 10))
      #expect(summary["exit_codes"] as? [Int] == Array(repeating: 0, count: 10))
      let progress = try #require(summary["progress"] as? [[String: Any]])
      #expect(!progress.isEmpty, "no progress while wait_tasks waited")
      #expect(progress.allSatisfy { $0["total"] as? Double == 10 })
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        var indexes: Set<String> = []
        for id in ids {
          let task = try await client.task(id)
          #expect(["mcp-a", "mcp-b"].contains(task.nodeID), "\(id) ran on \(task.nodeID)")
          #expect(task.groupID == group)
          let first = try await client.output(id).stdout.split(separator: "\n").first ?? ""
          indexes.insert(String(first))
        }
        #expect(indexes == Set((0..<10).map { "copy \($0) of 10" }))
      }

      // The pages of get_logs are exactly what `orchion logs` prints.
      let logTask = try #require(summary["log_task"] as? String)
      let logs = try await cluster.orchion(["logs", logTask])
      #expect(logs.status == 0, "\(logs.stderr)")
      #expect(summary["log_text"] as? String == logs.stdout + logs.stderr)
      #expect((summary["log_pages"] as? Int ?? 0) > 3)
      #expect(logs.stdout.hasSuffix("400\nhéllo wörld\n"))
      #expect(summary["result_state"] as? String == "SUCCEEDED")

      // Cancel, seen through the tool, the resource and its subscription.
      let short = summary["short_wait"] as? [String: Any]
      #expect(short?["timed_out"] as? Bool == true && short?["state"] as? String == "RUNNING", "\(short ?? [:])")
      #expect(summary["cancel_error"] is NSNull)
      #expect(summary["cancelled_state"] as? String == "CANCELLED")
      #expect(summary["resource_state"] as? String == "CANCELLED")
      #expect(summary["updated"] as? Bool == true)
      #expect(summary["templates"] as? [String] == ["orchion://tasks/{id}", "orchion://tasks/{id}/log"])

      // Messages: received once, in order, then acknowledged (not delivered again).
      #expect(summary["received"] as? [String] == ["one", "two", "drei"])
      #expect(summary["received_ids"] as? [String] == summary["sent"] as? [String])
      #expect(summary["received_again"] as? [String] == [])

      // Bad calls name what was wrong, in the API's words where the API refused.
      #expect(summary["bad_count_error"] as? String == "count: must be 1-1000, not 0")
      #expect(summary["bad_command_error"] as? String == "command: must be a list of strings")
      let unknown = try await cluster.orchion(["task", "no-such-task"])
      let refusal = try #require(summary["unknown_task_error"] as? String)
      #expect(refusal.contains("task_id 'no-such-task'"))
      #expect(unknown.stderr.contains(refusal), "CLI said: \(unknown.stderr)")
    }
  }

  @Test("/mcp: no or a wrong token is 401 with a challenge, a join token or a foreign origin 403; an agent token may not manage the cluster")
  func authentication() async throws {
    try await Cluster.with(serverArguments: ["--mcp-allowed-origin", "https://ide.example.com"]) { cluster in
      let web = HTTPTestClient(base: try await cluster.dashboardURL())
      let initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}
        """
      func post(_ headers: [String: String]) async throws -> HTTPTestClient.Answer {
        try await web.send(
          "POST",
          "/mcp",
          headers: headers.merging([
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
          ]) { $1 },
          body: initialize
        )
      }
      let missing = try await post([:])
      #expect(missing.status == 401)
      #expect(missing.header("WWW-Authenticate") == "Bearer realm=\"orchion\"")
      #expect(missing.body.contains("missing 'authorization: Bearer <token>'"), "\(missing.body)")
      let wrong = try await post(["Authorization": "Bearer 0123456789.deadbeef"])
      #expect(wrong.status == 401)
      #expect(wrong.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true)
      #expect(wrong.body.contains("the token is not valid"), "\(wrong.body)")

      let join = try await Self.token(cluster, kind: "--join")
      let joined = try await post(["Authorization": "Bearer \(join)"])
      #expect(joined.status == 403, "\(joined.body)")
      let agent = try await Self.agentToken(cluster)
      let foreign = try await post(["Authorization": "Bearer \(agent)", "Origin": "https://evil.example"])
      #expect(foreign.status == 403)
      let unescaped = foreign.body.replacingOccurrences(of: "\\/", with: "/")
      #expect(unescaped.contains("origin 'https://evil.example' may not call /mcp"), "\(foreign.body)")
      for origin in ["http://localhost:3000", "http://127.0.0.1", "https://ide.example.com"] {
        let allowed = try await post(["Authorization": "Bearer \(agent)", "Origin": origin])
        #expect(allowed.status == 200, "\(origin): \(allowed.body)")
        #expect(allowed.body.contains("\"serverInfo\""), "\(origin): \(allowed.body)")
      }
      // A session belongs to the credential that opened it.
      let opened = try await post(["Authorization": "Bearer \(agent)"])
      let session = try #require(opened.header("Mcp-Session-Id"))
      let other = try await web.send(
        "POST",
        "/mcp",
        headers: [
          "Authorization": "Bearer \(testAdminToken)", "Mcp-Session-Id": session,
          "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
          "MCP-Protocol-Version": "2025-11-25",
        ],
        body: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#
      )
      #expect(other.status == 404, "\(other.body)")

      // The agent token over gRPC: tasks yes; tokens, secrets, node management no.
      try await withOrchionClient(server: cluster.address, token: agent) { client in
        let task = try await client.submit { $0.command = ["sleep", "60"] }
        // It may send anywhere and take from queues, never a task's mail.
        _ = try await client.send(to: "task/\(task.id)", payload: Data("hello".utf8))
        let mail = await expectRPCError(.permissionDenied) {
          try await client.receive(from: "task/\(task.id)") { _ in false }
        }
        #expect(mail.contains("task/\(task.id)"), "\(mail)")
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        _ = try await client.nodes.listNodes(.init())
        let refused1 = await expectRPCError(.permissionDenied) {
          _ = try await client.tokens.listTokens(.init())
        }
        #expect(refused1.contains("an agent token may only"), "\(refused1)")
        let refused2 = await expectRPCError(.permissionDenied) {
          _ = try await client.tokens.createToken(.with { $0.kind = .admin })
        }
        #expect(refused2.contains("an agent token may only"), "\(refused2)")
        let refused3 = await expectRPCError(.permissionDenied) {
          _ = try await client.secrets.listSecrets(.init())
        }
        #expect(refused3.contains("an agent token may only"), "\(refused3)")
        let refused4 = await expectRPCError(.permissionDenied) {
          _ = try await client.nodes.cordonNode(.with { $0.nodeID = "anything" })
        }
        #expect(refused4.contains("an agent token may only"), "\(refused4)")
      }
      let listed = try await cluster.orchion(["token", "list"])
      #expect(listed.stdout.contains(" agent "), "\(listed.stdout)")
    }
  }

  @Test("a planner task fans out with its own token: it follows its children, passes on only its own secrets, and cannot touch other tasks")
  func plannerTask() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("planner-node")
      try await cluster.waitForActiveNodes(["planner-node"])
      for (name, value) in [("mine", "secret-of-the-planner"), ("other", "secret-it-was-not-given")] {
        let set = try ChildProcess(
          BuiltProducts.orchion,
          ["secret", "set", name, "--server", "\(cluster.address)"],
          environment: cluster.environment,
          standardInput: value + "\n"
        )
        #expect(try await set.waitForExit() == 0, "\(set.standardError)")
      }
      let endpoint = try await cluster.dashboardURL() + "/mcp"
      let python = try #require(Self.python(), "python3 with the mcp package")
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let foreign = try await client.submit { $0.command = ["sleep", "120"] }
        let planner = try await client.submit {
          $0.name = "planner"
          $0.command = [
            "sh", "-c",
            "exec \(python) \(Self.client) --scenario planner --http \(endpoint) --token \"$ORCHION_TOKEN\" --foreign \(foreign.id)",
          ]
          $0.secretEnv = ["S": "mine"]
        }
        let ended = try await client.waitFor(planner.id, timeout: .seconds(120))
        let output = try await client.output(planner.id)
        #expect(ended.state == .succeeded, "stdout: \(output.stdout)\nstderr: \(output.stderr)")
        let line = try #require(output.stdout.split(separator: "\n").last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let children = try #require(summary["children"] as? [String])
        #expect(children.count == 2)
        #expect(summary["states"] as? [String] == ["SUCCEEDED", "SUCCEEDED"])
        #expect(summary["parents"] as? [String] == [planner.id, planner.id])
        for child in children {
          #expect(try await client.task(child).parentTaskID == planner.id)
        }
        #expect(
          (summary["foreign_error"] as? String)?.contains(
            "task '\(foreign.id)' was not started by task '\(planner.id)'"
          ) == true,
          "\(summary["foreign_error"] ?? "")"
        )
        #expect((summary["foreign_cancel_error"] as? String)?.contains("was not started by task") == true)
        #expect(try await client.task(foreign.id).state == .running)
        #expect(summary["list_nodes_error"] is NSNull)
        #expect(
          (summary["secret_denied_error"] as? String)?.contains(
            "a task may pass on only the secrets it was given, and 'other' is not one of them"
          ) == true,
          "\(summary["secret_denied_error"] ?? "")"
        )
        #expect(summary["secret_child_output"] as? String == "has-the-secret\n")
        _ = try await client.tasks.cancelTask(.with { $0.taskID = foreign.id })
      }
    }
  }

  @Test("SIGTERM ends a client's open MCP stream: the orchestrator exits 0 without waiting out its grace")
  func shutdown() async throws {
    try await Cluster.with(serverArguments: ["--shutdown-grace", "120s"]) { cluster in
      let base = try await cluster.dashboardURL()
      let opened = try await HTTPTestClient(base: base).send(
        "POST",
        "/mcp",
        headers: [
          "Authorization": "Bearer \(testAdminToken)", "Content-Type": "application/json",
          "Accept": "application/json, text/event-stream",
        ],
        body: """
          {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}
          """
      )
      let session = try #require(opened.header("Mcp-Session-Id"), "\(opened.status) \(opened.body)")
      // The stream a client keeps open for the server's notifications.
      let stream = try ChildProcess(
        "/usr/bin/env",
        [
          "curl", "-sN", base + "/mcp", "-H", "Authorization: Bearer \(testAdminToken)", "-H",
          "Mcp-Session-Id: \(session)", "-H", "Accept: text/event-stream", "-H", "MCP-Protocol-Version: 2025-11-25",
        ]
      )
      _ = try await stream.waitForOutput(containing: "_GET_stream")
      cluster.server.signal(SIGTERM)
      #expect(try await cluster.server.waitForExit(timeout: .seconds(60)) == 0, "\(cluster.server.standardError)")
      #expect(try await stream.waitForExit(timeout: .seconds(30)) == 0, "the stream ended: \(stream.standardError)")
    }
  }

  // MARK: Helpers

  static func agentToken(_ cluster: Cluster) async throws -> String {
    try await token(cluster, kind: "--agent")
  }

  static func token(_ cluster: Cluster, kind: String) async throws -> String {
    let created = try await cluster.orchion(["token", "create", kind, "--description", "mcp test"])
    #expect(created.status == 0, "\(created.stderr)")
    return created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// The python3 on PATH (make test puts .venv-test's first), as an absolute path a task can run.
  static func python() -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    return path.split(separator: ":").map { "\($0)/python3" }.first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }

  /// Runs the Python client to its end and returns the JSON summary it printed.
  static func runClient(_ arguments: [String], environment: [String: String]) async throws
    -> [String: Any]
  {
    let python = try ChildProcess(
      "/usr/bin/env",
      ["python3", client] + arguments,
      environment: environment
    )
    let status = try await python.waitForExit(timeout: .seconds(240))
    #expect(status == 0, "stdout:\n\(python.standardOutput)\nstderr:\n\(python.standardError)")
    let line = try #require(python.standardOutput.split(separator: "\n").last, "\(python.standardError)")
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
  }
}
