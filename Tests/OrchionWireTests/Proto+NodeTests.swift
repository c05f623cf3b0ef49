import OrchionAPI
import OrchionCore
import OrchionTestSupport
import OrchionWire
import Testing

@Suite("Wire conversions: nodes")
struct ProtoNodeTests {
  @Test("resources survive the trip, named resources included")
  func resourcesRoundTrip() {
    let resources = Resources(
      cpuMillis: 64_000,
      memoryBytes: 256 << 30,
      gpus: 8,
      extended: ["tool/claude": 4, "model.orchion.io/llama3": 1]
    )
    #expect(Resources(Orchion_V1_Resources(resources)) == resources)
  }

  @Test("a status filter maps each status; an unknown one is refused naming the field")
  func statusFilter() throws {
    for status in NodeStatus.allCases {
      #expect(try NodeStatus.filter(Orchion_V1_NodeStatus(status)) == status)
    }
    #expect(try NodeStatus.filter(.unspecified) == nil)
    expectInvalid(field: "status") { try NodeStatus.filter(.UNRECOGNIZED(7)) }
  }

  @Test("a node's wire form carries its usage, with a task count clamped to the field")
  func nodeWithUsage() throws {
    let now = UTCInstant(nanosecondsSinceEpoch: 1_764_633_600_000_000_000)
    let node = Node(
      id: try NodeID(validating: "gpu-box"),
      address: "10.0.0.2:7000",
      metadata: [:],
      labels: ["gpu": "a100"],
      status: .active,
      registeredAt: now,
      lastHeartbeat: now,
      statusChangedAt: now,
      resources: Resources(cpuMillis: 8000),
      slots: 4
    )
    let usage = NodeUsage(allocated: Resources(cpuMillis: 500), tasks: Int(Int32.max) + 1)
    let proto = Orchion_V1_Node(node, usage: usage)
    #expect(proto.id == "gpu-box")
    #expect(proto.slots == 4)
    #expect(proto.labels == ["gpu": "a100"])
    #expect(proto.status == .active)
    #expect(proto.allocated.cpuMillis == 500)
    #expect(proto.runningTasks == Int32.max)
    #expect(try UTCInstant(validating: proto.registeredAt, field: "registered_at") == now)
    #expect(!proto.hasDrainDeadline)
  }
}
