import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Coding agents run headless through the path a person takes: `orchion run --agent`, real
/// agents with the fixture CLIs (which check their flags and replay recorded transcripts in
/// the real formats), real gRPC, a real orchestrator killed with SIGKILL.
@Suite("End to end: agent runs", .serialized, .timeLimit(.minutes(3)))
struct AgentRunEndToEndTests {
  static let fixtures = BuiltProducts.repositoryRoot + "/Tests/Fixtures/agent-clis"

  /// A directory of `cluster` holding only these fixture CLIs.
  func fixtureDirectory(_ cluster: Cluster, _ clis: [String]) throws -> String {
    let directory = cluster.directory + "/clis-" + UUID().uuidString.prefix(8)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for cli in clis {
      try FileManager.default.createSymbolicLink(
        atPath: directory + "/" + cli,
        withDestinationPath: Self.fixtures + "/" + cli
      )
    }
    return directory
  }

  /// Waits until every node in `nodes` reports these CLIs.
  func waitForAgents(_ nodes: [String: [String]], client: OrchionNetworkClient) async throws {
    try await eventually(timeout: .seconds(30)) {
      for (node, clis) in nodes {
        guard let found = try? await client.nodes.getNode(.with { $0.nodeID = node }).node else {
          return false
        }
        guard found.status == .active, found.agents.map(\.name) == clis else { return false }
      }
      return true
    }
  }

  /// The task's events as StreamAgentEvents gives them, without following.
  func events(_ task: String, client: OrchionNetworkClient) async throws -> [Orchion_V1_AgentEvent] {
    try await client.tasks.streamAgentEvents(.with { $0.taskID = task }) { response in
      var events: [Orchion_V1_AgentEvent] = []
      for try await event in response.messages where !event.hasFinalTask { events.append(event) }
      return events
    }
  }

  /// The runs the fixtures recorded (`FIXTURE_RECORD`), oldest first.
  func recorded(_ path: String) throws -> [(argv: [String], task: String, node: String)] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return try text.split(separator: "\n").map { line in
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      )
      return (
        object["argv"] as? [String] ?? [],
        object["task"] as? String ?? "",
        object["node"] as? String ?? ""
      )
    }
  }

  func agentSpec(_ name: String, _ prompt: String) -> (inout Orchion_V1_TaskSpec) -> Void {
    { spec in
      spec.agent = .with {
        $0.name = name
        $0.prompt = prompt
      }
    }
  }

  @Test(
    "run --agent claude: the transcript and cost, exit 0; a failing agent exits 1 with its reason; --resume continues the session on its node"
  )
  func runAndResume() async throws {
    try await Cluster.with { cluster in
      let record = cluster.directory + "/runs.jsonl"
      try cluster.startAgent("a1", extra: ["--agent-path", Self.fixtures])
      try cluster.startAgent("a2", extra: ["--agent-path", Self.fixtures])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let all = ["claude", "codex", "gemini"]
        try await waitForAgents(["a1": all, "a2": all], client: client)

        let run = try await cluster.orchion([
          "run", "--agent", "claude", "--model", "sonnet", "--max-turns", "5",
          "--env", "FIXTURE_RECORD=\(record)", "--name", "first", "fix the tests",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        for line in [
          "● session sess-", "I'll look at the tests first.",
          "→ Bash {\"command\":\"swift test\",\"description\":\"Run tests\"}",
          "← Test Suite 'All tests' passed", "All tests pass; I fixed the off-by-one",
          "✓ succeeded · 3 turns · 74.1s · tokens 18 in / 2577 out / 169817 cached · $0.2417",
        ] {
          #expect(run.stdout.contains(line), "missing \(line) in:\n\(run.stdout)")
        }
        let first = try #require(try recorded(record).first)
        // The documented headless flags, the prompt after `--`: never through a shell.
        #expect(
          first.argv == [
            "-p", "--output-format", "stream-json", "--verbose", "--permission-mode",
            "acceptEdits", "--model", "sonnet", "--max-turns", "5", "--", "fix the tests",
          ]
        )
        let task = try await client.task(first.task)
        #expect(task.agentResult.status == .succeeded)
        #expect(task.agentResult.sessionID == "sess-\(first.task)")
        #expect(task.agentResult.costUsd == 0.2416735)
        #expect(task.agentResult.outputTokens == 2577)
        // The malformed line of the transcript is output, counted, not fatal.
        #expect(task.agentResult.unparsedLines == 1)
        #expect(try await client.output(first.task).stdout.contains("{\"type\":\"assistant\", \"message\""))

        let shown = try await cluster.orchion(["task", first.task])
        #expect(shown.stdout.contains("Session   sess-\(first.task)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("$0.2417"))
        let listed = try await cluster.orchion(["tasks", "--agent", "claude"])
        #expect(listed.stdout.contains("AGENT") && listed.stdout.contains(first.task))
        let none = try await cluster.orchion(["tasks", "--agent", "codex"])
        #expect(!none.stdout.contains(first.task))

        let failed = try await cluster.orchion(["run", "--agent", "claude", "FAIL please"])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("✗ failed: error_max_turns"), "\(failed.stdout)")
        #expect(failed.stderr.contains("agent failed: error_max_turns"), "\(failed.stderr)")

        // Each continuation runs where the session lives, with the CLI's own resume flag.
        for _ in 0..<3 {
          let resumed = try await cluster.orchion([
            "run", "--agent", "claude", "--resume", first.task,
            "--env", "FIXTURE_RECORD=\(record)", "follow up",
          ])
          #expect(resumed.status == 0, "\(resumed.stderr)")
          #expect(resumed.stdout.contains("resumed session sess-\(first.task)"))
          let again = try #require(try recorded(record).last)
          #expect(again.node == first.node)
          #expect(again.argv.contains("--resume") && again.argv.contains("sess-\(first.task)"))
        }
        let unknown = try await cluster.orchion([
          "run", "--agent", "claude", "--resume", "t0000000000000000000a", "more",
        ])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("not found"), "\(unknown.stderr)")
      }
    }
  }

  @Test(
    "placement: codex runs only where codex is; a CLI no node has stays PENDING saying why; --max-agents claude=1 runs two claude tasks one after the other"
  )
  func placement() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent(
        "coder",
        extra: ["--agent-path", Self.fixtures, "--max-agents", "claude=1"]
      )
      try cluster.startAgent(
        "geminionly",
        extra: ["--agent-path", try fixtureDirectory(cluster, ["gemini"])]
      )
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await waitForAgents(
          ["coder": ["claude", "codex", "gemini"], "geminionly": ["gemini"]],
          client: client
        )
        var codexTasks: [String] = []
        for _ in 0..<3 { codexTasks.append(try await client.submit(agentSpec("codex", "list")).id) }
        for id in codexTasks {
          let done = try await client.waitFor(id)
          #expect(done.state == .succeeded, "\(done)")
          #expect(done.nodeID == "coder")
        }

        let nowhere = try await client.submit(agentSpec("opencode", "hello"))
        #expect(nowhere.state == .pending)
        #expect(nowhere.message.contains("no node reports it"), "\(nowhere.message)")
        // It asks for the CLI, a little CPU and memory, and stays pending.
        #expect(nowhere.spec.resources.extended["agent.orchion.io/opencode"] == 1)
        #expect(nowhere.spec.resources.cpuMillis == 250)
        #expect(nowhere.spec.constraints.contains("agent.orchion.io/opencode"))

        let gate = cluster.directory + "/gate"
        let one = try await client.submit(agentSpec("claude", "work WAIT:\(gate)"))
        let two = try await client.submit(agentSpec("claude", "work WAIT:\(gate)"))
        _ = try await client.waitFor(one.id, state: .running)
        // Passes happen (another task is placed and runs), and the second claude still waits.
        let other = try await client.submit(["true"])
        #expect(try await client.waitFor(other.id).state == .succeeded)
        #expect(try await client.task(two.id).state == .pending)
        #expect(try await client.task(nowhere.id).state == .pending)
        _ = FileManager.default.createFile(atPath: gate, contents: Data())
        let firstDone = try await client.waitFor(one.id)
        let secondDone = try await client.waitFor(two.id)
        #expect(firstDone.state == .succeeded && secondDone.state == .succeeded)
        #expect(secondDone.nodeID == "coder")
        let firstEnd = firstDone.finishedAt.seconds * 1_000_000_000 + Int64(firstDone.finishedAt.nanos)
        let secondStart =
          secondDone.startedAt.seconds * 1_000_000_000 + Int64(secondDone.startedAt.nanos)
        #expect(secondStart >= firstEnd)
        _ = try await client.tasks.cancelTask(.with { $0.taskID = nowhere.id })
      }
    }
  }

  @Test(
    "a fixture that prints its API key: the value is in no output, event, task record, export or file of either data dir"
  )
  func secretsRedacted() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("n1", extra: ["--agent-path", Self.fixtures])
      let value = "sk-ant-\(UUID().uuidString)"
      let set = try ChildProcess(
        BuiltProducts.orchion,
        ["secret", "set", "anthropic-key", "--server", "\(cluster.address)"],
        environment: cluster.environment,
        standardInput: value + "\n"
      )
      #expect(try await set.waitForExit() == 0, "\(set.standardError)")
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await waitForAgents(["n1": ["claude", "codex", "gemini"]], client: client)
        let run = try await cluster.orchion([
          "run", "--agent", "claude", "--secret-env", "ANTHROPIC_API_KEY=anthropic-key",
          "PRINT-KEY please",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("the key is [secret anthropic-key]"), "\(run.stdout)")
        var seen = run.stdout + run.stderr
        let task = try #require(
          try await client.tasks.listTasks(.with { $0.agent = "claude" }).tasks.first
        )
        let output = try await client.output(task.id)
        #expect(output.stdout.contains("debug: using key [secret anthropic-key]"))
        #expect(output.stderr.contains("auth with [secret anthropic-key]"))
        seen += output.stdout + output.stderr
        seen += try task.jsonString()
        #expect(!task.spec.command.joined().contains(value))
        for event in try await events(task.id, client: client) { seen += try event.jsonString() }
        for arguments in [["task", task.id], ["tasks", "-o", "json"], ["logs", task.id]] {
          let shown = try await cluster.orchion(arguments)
          seen += shown.stdout + shown.stderr
        }
        let json = try await cluster.orchion(["run", "--agent", "claude", "-o", "json", "--secret-env", "ANTHROPIC_API_KEY=anthropic-key", "PRINT-KEY again"])
        #expect(json.stdout.contains("[secret anthropic-key]"))
        seen += json.stdout + json.stderr
        let export = try ChildProcess(
          BuiltProducts.orchion,
          ["admin", "export", "--data-dir", cluster.directory + "/server"]
        )
        #expect(try await export.waitForExit() == 0, "\(export.standardError)")
        seen += export.standardOutput
        #expect(!seen.contains(value), "the key appeared in what the cluster shows")
      }
      for process in [cluster.server, try #require(cluster.agent("n1"))] {
        #expect(!(process.standardOutput + process.standardError).contains(value))
      }
      for path in regularFiles(under: cluster.directory) {
        let data = FileManager.default.contents(atPath: path) ?? Data()
        #expect(data.range(of: Data(value.utf8)) == nil, "\(path) holds the key")
      }
    }
  }

  @Test(
    "events survive kill -9 of the orchestrator mid-run and the agent's reconnect: no gap, no duplicate sequence"
  )
  func eventsSurviveRestart() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("n1", extra: ["--agent-path", Self.fixtures])
      let gate = cluster.directory + "/gate"
      let id = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        client in
        try await waitForAgents(["n1": ["claude", "codex", "gemini"]], client: client)
        let task = try await client.submit(agentSpec("claude", "work WAIT:\(gate)"))
        // Mid-run: the first events are in, the rest wait behind the gate.
        try await eventually(timeout: .seconds(30)) {
          try await events(task.id, client: client).count >= 2
        }
        return task.id
      }
      try await cluster.restartServer()
      try await cluster.waitForActiveNodes(["n1"])
      _ = FileManager.default.createFile(atPath: gate, contents: Data())
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let done = try await client.waitFor(id)
        #expect(done.state == .succeeded, "\(done)")
        let events = try await events(id, client: client)
        #expect(events.map(\.sequence) == Array(1...Int64(events.count)))
        #expect(Int64(events.count) == done.agentResult.events)
        #expect(events.allSatisfy { $0.attempt == 1 && $0.taskID == id })
        if case .sessionStarted? = events.first?.kind {} else { Issue.record("first: \(events.first?.kind as Any)") }
        if case .result(let result)? = events.last?.kind {
          #expect(result.status == .succeeded)
        } else {
          Issue.record("last: \(events.last?.kind as Any)")
        }
        // Resuming after an event gives exactly what follows it.
        let rest = try await client.tasks.streamAgentEvents(
          .with {
            $0.taskID = id
            $0.afterAttempt = 1
            $0.afterSeq = 3
          }
        ) { response in
          var sequences: [Int64] = []
          for try await event in response.messages where !event.hasFinalTask {
            sequences.append(event.sequence)
          }
          return sequences
        }
        #expect(rest == Array(4...Int64(events.count)))
      }
    }
  }
  @Test("orchion run --agent keeps following through a kill -9 of the orchestrator: the whole transcript, nothing twice, exit 0")
  func runFollowsThroughRestart() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("n1", extra: ["--agent-path", Self.fixtures])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await waitForAgents(["n1": ["claude", "codex", "gemini"]], client: client)
      }
      let gate = cluster.directory + "/gate"
      let run = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--agent", "claude", "--server", "\(cluster.address)", "work WAIT:\(gate)"],
        environment: cluster.environment
      )
      _ = try await run.waitForOutput(containing: "I'll look at the tests first.")
      try await cluster.restartServer()
      try await cluster.waitForActiveNodes(["n1"])
      _ = FileManager.default.createFile(atPath: gate, contents: Data())
      #expect(try await run.waitForExit() == 0, "\(run.standardError)")
      let transcript = run.standardOutput
      for line in ["● session sess-", "I'll look at the tests first.", "→ Bash", "✓ succeeded"] {
        #expect(transcript.components(separatedBy: line).count == 2, "\(line) not exactly once in:\n\(transcript)")
      }
    }
  }
}
