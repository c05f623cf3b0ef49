import OrchionCore
import OrchionTestSupport
import Testing

@Suite("Agent CLIs on a node")
struct AgentCLITests {
  let claude = AgentCLI(name: "claude", version: "1.0.58", path: "/usr/local/bin/claude")
  let codex = AgentCLI(name: "codex", version: "0.20.0", path: "/usr/bin/codex")

  @Test("a registration's agents are checked: name, version, path, count, duplicates")
  func validation() throws {
    try NodeRegistration(agents: [claude, codex]).validate()
    func invalid(_ agents: [AgentCLI]) -> String {
      expectOrchionError(.invalidArgument) { try NodeRegistration(agents: agents).validate() }
    }
    #expect(invalid([AgentCLI(name: "Claude", version: "1", path: "/x")]).contains("a-z"))
    #expect(invalid([AgentCLI(name: "", version: "1", path: "/x")]).contains("agents[0].name"))
    #expect(invalid([AgentCLI(name: "a b", version: "1", path: "/x")]).contains("a-z"))
    #expect(invalid([AgentCLI(name: "x", version: "", path: "/x")]).contains("agents[0].version"))
    #expect(
      invalid([AgentCLI(name: "x", version: String(repeating: "9", count: 129), path: "/x")])
        .contains("1-128")
    )
    #expect(invalid([AgentCLI(name: "x", version: "1\u{1B}[2J", path: "/x")]).contains("control"))
    #expect(invalid([AgentCLI(name: "x", version: "1", path: "bin/x")]).contains("absolute"))
    #expect(invalid([AgentCLI(name: "x", version: "1", path: "/a\nb")]).contains("control"))
    #expect(invalid([claude, codex, claude]).contains("agents[2].name: 'claude' is listed twice"))
    let many = (0...32).map { AgentCLI(name: "cli-\($0)", version: "1", path: "/bin/x") }
    #expect(invalid(many).contains("33 entries, at most 32"))
  }

  @Test("registering derives agent.orchion.io labels from the list, replacing any the node sent")
  func labelsDerived() throws {
    var table = NodeTable(configuration: .defaults)
    let registration = NodeRegistration(
      id: try NodeID(validating: "a"),
      labels: ["zone": "home", "agent.orchion.io/gemini": "forged", "agent.orchion.io/claude": "0"],
      agents: [claude, codex]
    )
    let node = table.register(registration, now: .init(nanosecondsSinceEpoch: 0)) {
      try! NodeID(validating: "unused")
    }.node
    #expect(node.agents == [claude, codex])
    #expect(
      node.labels == [
        "zone": "home", "agent.orchion.io/claude": "1.0.58", "agent.orchion.io/codex": "0.20.0",
      ]
    )
    // Registering again with another list replaces the CLIs and their labels.
    var again = registration
    again.agents = [codex]
    let updated = table.register(again, now: .init(nanosecondsSinceEpoch: 1)) {
      try! NodeID(validating: "unused")
    }.node
    #expect(updated.agents == [codex])
    #expect(updated.labels == ["zone": "home", "agent.orchion.io/codex": "0.20.0"])
  }
}
