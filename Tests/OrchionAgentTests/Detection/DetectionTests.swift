import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@testable import OrchionAgent

/// Detection of agent CLIs and GPUs with real executables (the fixture CLIs under
/// `Tests/Fixtures/agent-clis`) run through the spawner; timeouts and the detection interval on
/// the manual clock.
@Suite("Detection", .timeLimit(.minutes(1)))
struct DetectionTests {
  static let fixtures = BuiltProducts.repositoryRoot + "/Tests/Fixtures/agent-clis"
  let clock = ManualClock()

  func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("detection-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Writes an executable shell script `name` into `directory`.
  func writeScript(_ name: String, in directory: String, _ body: String) throws {
    let path = directory + "/" + name
    try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
  }

  func detector(_ searchPath: [String]) -> AgentDetector {
    AgentDetector(
      searchPath: searchPath,
      environment: ["PATH": "/usr/bin:/bin"],
      timeout: .seconds(5),
      clock: clock
    )
  }

  @Test(
    "versions are read from what version commands print",
    arguments: [
      ("1.0.58 (Claude Code)\n", "1.0.58"),
      ("codex-cli 0.20.0", "0.20.0"),
      ("\n\n  0.1.13\n", "0.1.13"),
      ("aider 0.85.2", "0.85.2"),
      ("opencode v0.3.110", "0.3.110"),
      ("goose 1.0.20-beta.1 (build)", "1.0.20-beta.1"),
      ("2025.08.25-896bbe1", "2025.08.25-896bbe1"),
      ("x11 nightly", "x11 nightly"),
      ("weird \u{1B}[2Jbuild", "weird [2Jbuild"),
    ]
  )
  func versionText(output: String, version: String) {
    #expect(VersionText.parse(output) == version)
  }

  @Test("no text is no version, and a very long line is cut to the limit")
  func versionTextLimits() throws {
    #expect(VersionText.parse("") == nil)
    #expect(VersionText.parse(" \n\t\n") == nil)
    let long = try #require(VersionText.parse(String(repeating: "x", count: 1000)))
    #expect(long.utf8.count == AgentCLI.maxVersionBytes)
  }

  @Test("the fixtures for three CLIs are found, exactly those three, with their versions")
  func detectsFixtures() async throws {
    let empty = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: empty) }
    let agents = await detector([empty, Self.fixtures]).detect()
    #expect(
      agents == [
        AgentCLI(name: "claude", version: "1.0.58", path: Self.fixtures + "/claude"),
        AgentCLI(name: "codex", version: "0.20.0", path: Self.fixtures + "/codex"),
        AgentCLI(name: "gemini", version: "0.1.13", path: Self.fixtures + "/gemini"),
      ]
    )
  }

  @Test("the first directory of the search path wins, and a failing version command counts as absent")
  func searchOrder() async throws {
    let first = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: first) }
    try writeScript("claude", in: first, "echo '2.0.0 (Claude Code)'")
    try writeScript("codex", in: first, "echo broken >&2; exit 1")
    let agents = await detector([first, Self.fixtures]).detect()
    #expect(agents.map(\.name) == ["claude", "gemini"])
    #expect(agents.first == AgentCLI(name: "claude", version: "2.0.0", path: first + "/claude"))
  }

  @Test("a version command that hangs is killed at the timeout and its CLI left out")
  func hungVersionCommand() async throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // It also leaves a child holding the pipes: the whole group must go.
    try writeScript("aider", in: directory, "sleep 600 & exec sleep 600")
    let detection = Task { await detector([directory]).detect() }
    try await clock.waitForSleepers(1)
    clock.advance(by: .seconds(6))
    #expect(await detection.value == [])
  }

  @Test("a CLI installed while the agent runs is in the registration after the next look")
  func watcherSeesNewCLI() async throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.copyItem(
      atPath: Self.fixtures + "/claude",
      toPath: directory + "/claude"
    )
    let source = RegistrationSource(.with { $0.nodeID = "node-a" })
    let doorbell = source.subscribe()
    let watcher = FactsWatcher(
      detector: FactsDetector(
        searchPath: [directory],
        environment: ["PATH": "/usr/bin:/bin"],
        clock: clock
      ),
      source: source,
      base: .init(labels: ["zone": "a"], extendedResources: [:], slots: 4, maxAgents: [:]),
      interval: .seconds(60),
      clock: clock,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    let watching = Task { await watcher.run() }
    defer { watching.cancel() }
    var rings = doorbell.makeAsyncIterator()
    _ = await rings.next()
    #expect(source.current.request.agents.map(\.name) == ["claude"])
    #expect(source.current.request.labels == ["zone": "a"])
    let generation = source.current.generation

    try FileManager.default.copyItem(
      atPath: Self.fixtures + "/codex",
      toPath: directory + "/codex"
    )
    // The watcher sleeps out its interval, then looks again.
    try await eventually { clock.sleeperCount == 1 }
    clock.advance(by: .seconds(60))
    _ = await rings.next()
    #expect(source.current.request.agents.map(\.name) == ["claude", "codex"])
    #expect(source.current.generation == generation + 1)
  }

  @Test("nvidia-smi's CSV gives the GPUs' model, count and smallest memory; CLIs become resources")
  func gpuInventory() {
    let inventory = GPUInventory(
      csv: """
        NVIDIA GeForce RTX 4090, 24564 MiB
        NVIDIA GeForce RTX 4090, 24564 MiB
        NVIDIA A100-SXM4-80GB, 81920 MiB
        garbage
        """
    )
    #expect(inventory.devices.count == 3)
    #expect(
      inventory.labels == [
        GPUInventory.modelLabel: "NVIDIA GeForce RTX 4090,NVIDIA A100-SXM4-80GB",
        GPUInventory.memoryLabel: "24564",
      ]
    )
    #expect(GPUInventory(csv: "").labels == [:])
    var request = Orchion_V1_RegisterNodeRequest()
    FactsWatcher.apply(
      DetectedFacts(
        agents: [
          AgentCLI(name: "claude", version: "1.0.58", path: "/bin/claude"),
          AgentCLI(name: "codex", version: "0.20.0", path: "/bin/codex"),
        ],
        gpus: inventory
      ),
      base: .init(
        labels: ["zone": "a"],
        extendedResources: ["tool/x": 2, "agent.orchion.io/stale": 1],
        slots: 4,
        maxAgents: ["claude": 1]
      ),
      to: &request
    )
    // Each CLI is a resource: --max-agents where given, else the node's slots.
    #expect(
      request.resources.extended == [
        "tool/x": 2, "agent.orchion.io/claude": 1, "agent.orchion.io/codex": 4,
      ]
    )
    #expect(request.resources.gpus == 3)
    #expect(request.labels["zone"] == "a")
    #expect(request.labels[GPUInventory.memoryLabel] == "24564")
  }
  @Test("OLLAMA_HOST is read as Ollama reads it; a wildcard bind address means this machine")
  func ollamaAddress() {
    func address(_ value: String?) -> String {
      let found = OllamaModels.address(from: value.map { ["OLLAMA_HOST": $0] } ?? [:])
      return "\(found.host):\(found.port)"
    }
    #expect(address(nil) == "127.0.0.1:11434")
    #expect(address("0.0.0.0") == "127.0.0.1:11434")
    #expect(address("http://10.0.0.5:8080/") == "10.0.0.5:8080")
    #expect(address("localhost:99999") == "127.0.0.1:11434")
    #expect(address("gpu-box") == "gpu-box:11434")
  }

  @Test("an /api/tags body gives at most 16 usable model names, once each; anything else gives none")
  func ollamaTags() {
    let many = (0..<20).map { #"{"name":"m\#($0):latest"}"# }.joined(separator: ",")
    let models = OllamaModels(
      tagsJSON: Array(#"{"models":[{"name":"llama3:8b"},{"name":"llama3:8b"},{"name":"a b"},\#(many)]}"#.utf8)
    )
    #expect(models.names.count == OllamaModels.maxModels)
    #expect(models.names.first == "llama3:8b")
    #expect(models.labels["model.orchion.io/llama3_8b"] == "ollama")
    #expect(OllamaModels(tagsJSON: Array("<html>".utf8)) == .none)
    #expect(OllamaModels(tagsJSON: Array(#"{"models":7}"#.utf8)) == .none)
  }
}
