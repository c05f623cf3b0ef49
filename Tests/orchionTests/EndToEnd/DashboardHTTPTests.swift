import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// The orchestrator's HTTP side through real `orchion` processes and real HTTP: probes,
/// login links and sessions, what refuses a hostile or mistaken request, and the read token.
@Suite("Dashboard over HTTP")
struct DashboardHTTPTests {
  /// Logs in as the CLI's token through `orchion dashboard`; returns the session cookie.
  static func logIn(_ cluster: Cluster, http: HTTPTestClient, token: String = testAdminToken) async throws -> String {
    let printed = try await loginLink(cluster, token: token)
    guard let path = printed.range(of: "/login?").map({ String(printed[$0.lowerBound...]) }) else {
      throw OrchionError(code: .internalError, message: "no login link in: \(printed)")
    }
    let answer = try await http.send("GET", path)
    #expect(answer.status == 303)
    #expect(answer.header("Location") == "/")
    let setCookie = answer.header("Set-Cookie") ?? ""
    #expect(setCookie.contains("HttpOnly"))
    #expect(setCookie.contains("SameSite=Strict"))
    guard let cookie = answer.cookie("orchion_session") else {
      throw OrchionError(code: .internalError, message: "no session cookie: \(answer.headers)")
    }
    return "orchion_session=" + cookie
  }

  static func loginLink(_ cluster: Cluster, token: String) async throws -> String {
    let process = try ChildProcess(
      BuiltProducts.orchion,
      ["dashboard", "--server", "\(cluster.address)"],
      environment: cluster.environment.merging(["ORCHION_TOKEN": token]) { $1 }
    )
    let status = try await process.waitForExit()
    #expect(status == 0, "\(process.standardError)")
    return process.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test("probes answer without a token and agree with gRPC health; every page without a session is 401")
  func probesAndRefusals() async throws {
    try await Cluster.with { cluster in
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      #expect(try await http.send("GET", "/healthz").status == 200)
      let ready = try await http.send("GET", "/readyz")
      #expect(ready.status == 200, "\(ready.body)")
      for path in ["/", "/nodes", "/tasks", "/tasks/t0123456789abcdef0123"] {
        let answer = try await http.send("GET", path)
        #expect(answer.status == 401, "\(path)")
        #expect(answer.body.contains("orchion dashboard"), "\(path) says how to log in")
      }
      let metrics = try await http.send("GET", "/metrics")
      #expect(metrics.status == 401)
      #expect(metrics.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
      #expect(try await http.send("GET", "/metrics", headers: ["Authorization": "Bearer nope.nope"]).status == 401)
      // A forged or stale cookie is no session.
      let forged = try await http.send("GET", "/", headers: ["Cookie": "orchion_session=YWRtaW58Y29uZmlndXJlZHw5OTk5OTk5OTk5OTk5OTk5OTk5fHg.AAAA"])
      #expect(forged.status == 401)
    }
  }

  @Test("a login link works once; its session sees the overview, nodes and tasks")
  func loginOnce() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("web-a")
      try cluster.startAgent("web-b")
      try await cluster.waitForActiveNodes(["web-a", "web-b"])
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      let link = try await Self.loginLink(cluster, token: testAdminToken)
      let path = String(link[try #require(link.range(of: "/login?")).lowerBound...])
      #expect(try await http.send("GET", path).status == 303)
      let again = try await http.send("GET", path)
      #expect(again.status == 401, "a login code works once")
      #expect(try await http.send("GET", "/login?code=garbage").status == 401)

      let cookie = try await Self.logIn(cluster, http: http)
      let nodes = try await http.send("GET", "/nodes", headers: ["Cookie": cookie])
      #expect(nodes.status == 200)
      #expect(nodes.body.contains("web-a") && nodes.body.contains("web-b"))
      #expect(nodes.header("Content-Security-Policy")?.contains("default-src 'self'") == true)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["echo", "<script>alert(1)</script>"])
        try await client.waitFor(task.id, state: .succeeded)
        let list = try await http.send("GET", "/tasks?state=succeeded", headers: ["Cookie": cookie])
        #expect(list.status == 200)
        #expect(list.body.contains(task.id))
        let page = try await http.send("GET", "/tasks/\(task.id)", headers: ["Cookie": cookie])
        #expect(page.status == 200)
        // What a task printed is shown, never run.
        #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.body.contains("<script>alert(1)"))
        // The script's 2-second poll gets the summary without the output.
        let summary = try await http.send("GET", "/tasks/\(task.id)?parts=summary", headers: ["Cookie": cookie])
        #expect(summary.status == 200)
        #expect(summary.body.contains("id=\"summary\"") && summary.body.contains("SUCCEEDED"))
        #expect(page.body.contains("<span class=\"stdout\">"))
        #expect(!summary.body.contains("<span class=\"stdout\">"), "no output read for the poll")
        let overview = try await http.send("GET", "/", headers: ["Cookie": cookie])
        #expect(overview.status == 200)
        #expect(overview.body.contains("<svg"))
        #expect(overview.body.contains("id=\"nodes-active\"><div class=\"value\">2</div>"))
      }
    }
  }

  @Test("cancel needs an admin session, the form's CSRF token and a same-origin request; a refused one changes nothing")
  func cancelIsGuarded() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("web-c")
      try await cluster.waitForActiveNodes(["web-c"])
      let base = try await cluster.dashboardURL()
      let http = HTTPTestClient(base: base)
      let cookie = try await Self.logIn(cluster, http: http)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sleep", "60"])
        try await client.waitFor(task.id, state: .running)
        let page = try await http.send("GET", "/tasks/\(task.id)", headers: ["Cookie": cookie])
        let csrf = try #require(Self.hiddenField("csrf", in: page.body))
        let path = "/tasks/\(task.id)/cancel"

        // Another site's form, a missing or wrong CSRF token, no session: refused.
        let crossSite = try await http.send(
          "POST", path, headers: ["Cookie": cookie, "Origin": "http://evil.example"], body: "csrf=\(csrf)")
        #expect(crossSite.status == 403)
        let fetchSite = try await http.send(
          "POST", path, headers: ["Cookie": cookie, "Sec-Fetch-Site": "cross-site"], body: "csrf=\(csrf)")
        #expect(fetchSite.status == 403)
        #expect(try await http.send("POST", path, headers: ["Cookie": cookie], body: "csrf=wrong").status == 403)
        #expect(try await http.send("POST", path, headers: ["Cookie": cookie], body: "").status == 403)
        #expect(try await http.send("POST", path, body: "csrf=\(csrf)").status == 401)
        #expect(try await client.task(task.id).state == .running, "refused requests change nothing")

        // The page's own form, from the page's origin.
        let cancelled = try await http.send(
          "POST", path, headers: ["Cookie": cookie, "Origin": base], body: "csrf=\(csrf)")
        #expect(cancelled.status == 303)
        #expect(cancelled.header("Location") == "/tasks/\(task.id)")
        try await client.waitFor(task.id, state: .cancelled)
      }
    }
  }

  @Test("a read token looks but cannot act: no cancel button, cancel refused, gRPC writes refused")
  func readToken() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("web-r")
      try await cluster.waitForActiveNodes(["web-r"])
      let created = try await cluster.orchion(["token", "create", "--read", "--description", "viewer"])
      #expect(created.status == 0, "\(created.stderr)")
      let readToken = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      let cookie = try await Self.logIn(cluster, http: http, token: readToken)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { admin in
        let task = try await admin.submit(["sleep", "60"])
        try await admin.waitFor(task.id, state: .running)
        let page = try await http.send("GET", "/tasks/\(task.id)", headers: ["Cookie": cookie])
        #expect(page.status == 200)
        #expect(page.body.contains("read-only"))
        #expect(!page.body.contains("id=\"cancel\""), "no cancel button for a read session")
        let refused = try await http.send("POST", "/tasks/\(task.id)/cancel", headers: ["Cookie": cookie], body: "csrf=x")
        #expect(refused.status == 403)
        // Over gRPC the same token lists and follows, and may not change anything.
        try await withOrchionClient(server: cluster.address, token: readToken) { reader in
          let listed = try await reader.tasks.listTasks(.init()).tasks.map(\.id)
          #expect(listed.contains(task.id))
          await expectRPCError(.permissionDenied) {
            _ = try await reader.tasks.cancelTask(.with { $0.taskID = task.id })
          }
          await expectRPCError(.permissionDenied) { _ = try await reader.submit(["true"]) }
          await expectRPCError(.permissionDenied) { _ = try await reader.tokens.listTokens(.init()) }
        }
        // /metrics takes a read token.
        let metrics = try await http.send("GET", "/metrics", headers: ["Authorization": "Bearer \(readToken)"])
        #expect(metrics.status == 200)
        #expect(try await admin.task(task.id).state == .running)
      }
    }
  }

  @Test("bad input: unknown tasks 404, bad or oversized query parameters 400, and nothing changes")
  func badInput() async throws {
    try await Cluster.with { cluster in
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      let cookie = try await Self.logIn(cluster, http: http)
      let headers = ["Cookie": cookie]
      #expect(try await http.send("GET", "/tasks/t0123456789abcdef0123", headers: headers).status == 404)
      #expect(try await http.send("GET", "/tasks/not-a-task-id!", headers: headers).status == 400)
      #expect(try await http.send("GET", "/tasks/t0123456789abcdef0123/events", headers: headers).status == 404)
      let badState = try await http.send("GET", "/tasks?state=sleeping", headers: headers)
      #expect(badState.status == 400)
      #expect(badState.body.contains("state"))
      let long = String(repeating: "x", count: 300)
      #expect(try await http.send("GET", "/tasks?name=\(long)", headers: headers).status == 400)
      #expect(try await http.send("GET", "/tasks?node=Not_A_Node!", headers: headers).status == 400)
      #expect(try await http.send("GET", "/tasks?after=zzz", headers: headers).status == 400)
      let hugeQuery = (0..<200).map { "p\($0)=vvvvvvvvvv" }.joined(separator: "&")
      #expect(try await http.send("GET", "/tasks?\(hugeQuery)", headers: headers).status == 400)
      let badResume = try await http.send("GET", "/tasks/t0123456789abcdef0123/events", headers: headers.merging(["Last-Event-ID": "-7"]) { $1 })
      #expect(badResume.status == 400)
      #expect(try await http.send("POST", "/tasks/t0123456789abcdef0123/cancel", headers: headers, body: "csrf=x").status == 403)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let tasks = try await client.tasks.listTasks(.init()).tasks
        #expect(tasks.isEmpty)
      }
    }
  }

  @Test("--log-format json writes one JSON object a line, with the level, message and metadata")
  func jsonLogs() async throws {
    try await Cluster.with(serverArguments: ["--log-format", "json"]) { cluster in
      _ = try await cluster.server.waitForOutput(containing: "orchestrator listening")
      let lines = cluster.server.standardError.split(separator: "\n").filter { !$0.isEmpty }
      #expect(!lines.isEmpty)
      var sawAddress = false
      for line in lines {
        let object = try #require(
          try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          "not a JSON object: \(line)"
        )
        #expect(object["time"] is String && object["level"] is String && object["message"] is String)
        if object["message"] as? String == "orchestrator listening" {
          sawAddress = (object["orchion.address"] as? String)?.contains("127.0.0.1") == true
        }
      }
      #expect(sawAddress, "metadata keys are fields of their own")
    }
  }

  @Test("an agent task's page shows its events, tokens and cost")
  func agentTask() async throws {
    try await Cluster.with { cluster in
      let fixtures = BuiltProducts.repositoryRoot + "/Tests/Fixtures/agent-clis"
      try cluster.startAgent("web-agent", extra: ["--agent-path", fixtures])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await eventually(timeout: .seconds(30)) {
          let node = try? await client.nodes.getNode(.with { $0.nodeID = "web-agent" }).node
          return node?.agents.map(\.name).contains("claude") == true
        }
      }
      let run = try await cluster.orchion(["run", "--agent", "claude", "--name", "fixer", "fix the tests"])
      #expect(run.status == 0, "\(run.stderr)")
      let tasks = try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await client.tasks.listTasks(.with { $0.agent = "claude" }).tasks
      }
      let task = try #require(tasks.first)
      let http = HTTPTestClient(base: try await cluster.dashboardURL())
      let cookie = try await Self.logIn(cluster, http: http)
      let page = try await http.send("GET", "/tasks/\(task.id)", headers: ["Cookie": cookie])
      #expect(page.status == 200)
      for text in [
        "Agent result", "$0.2417", "in 18 · out 2577 · cached 169817", "sess-\(task.id)",
        "→ Bash {&quot;command&quot;:&quot;swift test&quot;", "All tests pass; I fixed the off-by-one",
        "<dt>Prompt</dt><dd>fix the tests</dd>",
      ] {
        #expect(page.body.contains(text), "missing \(text)")
      }
    }
  }

  /// The value of `<input type="hidden" name="NAME" value="…">` in a page.
  static func hiddenField(_ name: String, in page: String) -> String? {
    guard let range = page.range(of: "name=\"\(name)\" value=\"") else { return nil }
    return String(page[range.upperBound...].prefix { $0 != "\"" })
  }
}

@Suite("Dashboard over HTTPS")
struct DashboardTLSTests {
  @Test("the HTTP port serves HTTPS with the gRPC port's certificate, and the login link says https")
  func https() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-https-\(UUID().uuidString.prefix(8))").path
    let certs = directory + "/certs"
    let initialize = try ChildProcess(BuiltProducts.orchion, ["certs", "init", "--dir", certs])
    #expect(try await initialize.waitForExit() == 0, "\(initialize.standardError)")
    let (server, address) = try await Cluster.launchServer(
      directory: directory,
      arguments: [
        "--port", "0", "--tls-cert", certs + "/server.pem", "--tls-key", certs + "/server-key.pem",
      ]
    )
    defer { server.signal(SIGKILL) }
    let base = try await Cluster.dashboardURL(of: server)
    #expect(base.hasPrefix("https://"))
    let curl = try ChildProcess("/usr/bin/curl", ["-s", "--cacert", certs + "/ca.pem", base + "/healthz"])
    #expect(try await curl.waitForExit() == 0, "\(curl.standardError)")
    #expect(curl.standardOutput == "ok\n")
    // Plain HTTP to the TLS port gets nothing.
    let plain = try ChildProcess(
      "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", base.replacingOccurrences(of: "https://", with: "http://") + "/healthz"])
    _ = try await plain.waitForExit()
    #expect(plain.standardOutput != "200")
    let link = try ChildProcess(
      BuiltProducts.orchion,
      ["dashboard", "--server", "\(address)", "--tls-ca", certs + "/ca.pem"],
      environment: ["ORCHION_CONFIG": directory + "/client-config"]
    )
    #expect(try await link.waitForExit() == 0, "\(link.standardError)")
    #expect(link.standardOutput.hasPrefix(base + "/login?code="))
  }
}
