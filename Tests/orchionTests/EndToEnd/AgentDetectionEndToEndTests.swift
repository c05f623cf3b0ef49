import Foundation
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion agent` finding agent CLIs on its machine (the fixture CLIs) and the orchestrator
/// showing them: real processes, real gRPC.
@Suite("End to end: agent CLI detection", .serialized, .timeLimit(.minutes(3)))
struct AgentDetectionEndToEndTests {
  static let fixtures = BuiltProducts.repositoryRoot + "/Tests/Fixtures/agent-clis"

  @Test(
    "an agent with three fixture CLIs and one whose --version hangs: it heartbeats, and nodes shows exactly the three"
  )
  func detectsAndShows() async throws {
    try await Cluster.with { cluster in
      let hung = cluster.directory + "/hung-clis"
      try FileManager.default.createDirectory(atPath: hung, withIntermediateDirectories: true)
      try "#!/bin/sh\nexec sleep 600\n".write(
        toFile: hung + "/aider",
        atomically: true,
        encoding: .utf8
      )
      try FileManager.default.setAttributes(
        [.posixPermissions: 0o755],
        ofItemAtPath: hung + "/aider"
      )
      try cluster.startAgent(
        "coder",
        extra: ["--agent-path", hung, "--agent-path", Self.fixtures]
      )
      try cluster.startAgent("plain", extra: ["--no-detect", "--agent-path", Self.fixtures])
      // The hung version command holds neither registration nor heartbeats.
      try await cluster.waitForActiveNodes(["coder", "plain"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await eventually(timeout: .seconds(30)) {
          try await client.nodes.getNode(.with { $0.nodeID = "coder" }).node.agents.count == 3
        }
        let coder = try await client.nodes.getNode(.with { $0.nodeID = "coder" }).node
        #expect(coder.agents.map(\.name) == ["claude", "codex", "gemini"])
        #expect(coder.agents.map(\.version) == ["1.0.58", "0.20.0", "0.1.13"])
        #expect(coder.agents.map(\.path) == ["claude", "codex", "gemini"].map { Self.fixtures + "/" + $0 })
        #expect(coder.labels["agent.orchion.io/claude"] == "1.0.58")
        #expect(coder.labels["agent.orchion.io/aider"] == nil)
        #expect(coder.status == .active)
        #expect(coder.agentVersion == OrchionVersion.current)
        let plain = try await client.nodes.getNode(.with { $0.nodeID = "plain" }).node
        #expect(plain.agents.isEmpty)
        #expect(!plain.labels.keys.contains { $0.hasPrefix("agent.orchion.io/") })
      }

      let table = try await cluster.orchion(["nodes"])
      #expect(table.status == 0, "\(table.stderr)")
      #expect(table.stdout.contains("AGENTS") && table.stdout.contains("VERSION"))
      #expect(table.stdout.contains(" \(OrchionVersion.current) "))
      let version = try ChildProcess(BuiltProducts.orchion, ["--version"])
      #expect(try await version.waitForExit() == 0)
      #expect(version.standardOutput == OrchionVersion.current + "\n")
      let coderLine = table.stdout.split(separator: "\n").first { $0.hasPrefix("coder ") }
      #expect(coderLine?.contains("claude 1.0.58,codex 0.20.0,gemini 0.1.13") == true, "\(table.stdout)")
      let json = try await cluster.orchion(["nodes", "-o", "json"])
      #expect(json.status == 0)
      let parsed = try Orchion_V1_ListNodesResponse(jsonString: json.stdout)
      let agents = parsed.nodes.first { $0.id == "coder" }?.agents ?? []
      #expect(agents.map(\.name) == ["claude", "codex", "gemini"])
    }
  }
  @Test("a local Ollama's models (GET /api/tags at OLLAMA_HOST) become model.orchion.io labels; an unusable name is skipped")
  func ollamaModels() async throws {
    try await Cluster.with { cluster in
      let portFile = cluster.directory + "/ollama-port"
      let ollama = try ChildProcess(
        "/usr/bin/env",
        ["python3", BuiltProducts.repositoryRoot + "/Tests/Interop/fake_ollama.py", portFile]
      )
      defer { ollama.signal(SIGKILL) }
      try await eventually { FileManager.default.fileExists(atPath: portFile) }
      let port = try String(contentsOfFile: portFile, encoding: .utf8)
      try cluster.startAgent("local-llm", environment: ["OLLAMA_HOST": "http://127.0.0.1:\(port)"])
      try await cluster.waitForActiveNodes(["local-llm"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        try await eventually(timeout: .seconds(30)) {
          let labels = try await client.nodes.getNode(.with { $0.nodeID = "local-llm" }).node.labels
          return labels["model.orchion.io/llama3.2_latest"] != nil
        }
        let labels = try await client.nodes.getNode(.with { $0.nodeID = "local-llm" }).node.labels
        #expect(labels.keys.filter { $0.hasPrefix("model.orchion.io/") }.sorted() == [
          "model.orchion.io/llama3.2_latest", "model.orchion.io/qwen2.5-coder_7b",
        ])
        // An agent task naming a local model another node lacks says what it waits for.
        let task = try await client.tasks.submitTask(
          .with {
            $0.spec.agent = .with {
              $0.name = "aider"
              $0.prompt = "x"
              $0.model = "ollama/qwen2.5-coder:7b"
            }
          }
        ).task
        #expect(task.spec.constraints.contains("model.orchion.io/qwen2.5-coder_7b"))
        #expect(task.message.contains("agent CLI 'aider'"), "\(task.message)")
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
      }
    }
  }
}
