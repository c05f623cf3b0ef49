import OrchionAPI
import OrchionCore
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

@Suite("Wire conversions: tasks")
struct ProtoTaskTests {
  @Test("a spec with every field set survives the trip to the wire and back")
  func specRoundTrip() throws {
    var spec = TaskSpec(
      name: "train",
      command: ["python", "train.py", "--epochs", "3"],
      environment: ["SEED": "7"],
      workingDirectory: "/srv/job",
      resources: Resources(
        cpuMillis: 1500,
        memoryBytes: 1 << 30,
        gpus: 1,
        extended: ["tool/claude": 1]
      ),
      nodeSelector: ["gpu": "a100"],
      timeout: .seconds(90),
      maxAttempts: 3,
      priority: 80,
      strategy: .spread,
      constraints: [try LabelConstraint(parsing: "zone in (a,b)", field: "c")],
      preemptible: true,
      retry: RetryPolicy(exitCodes: [3, 75], backoff: .seconds(2), maxBackoff: .seconds(60)),
      surviveDisconnect: true
    )
    spec.secretEnvironment = ["ANTHROPIC_API_KEY": "anthropic"]
    let back = try TaskSpec(validating: Orchion_V1_TaskSpec(spec))
    #expect(back == spec)
  }

  @Test("an empty spec gets the defaults a client leaves out: one attempt, priority 50")
  func defaults() throws {
    let spec = try TaskSpec(validating: .with { $0.command = ["true"] })
    #expect(spec.maxAttempts == 1)
    #expect(spec.priority == TaskSpec.defaultPriority)
    #expect(spec.timeout == nil)
    #expect(spec.strategy == nil)
    // A backoff without a cap of its own is never above its cap.
    let backoff = try TaskSpec(
      validating: .with {
        $0.command = ["true"]
        $0.retryBackoff = .init(seconds: 600, nanos: 0)
      }
    )
    #expect(backoff.retry.maxBackoff >= backoff.retry.backoff)
  }

  @Test("wire values a field cannot hold are refused naming it")
  func badSpecs() {
    expectInvalid(field: "spec.timeout") {
      try TaskSpec(
        validating: .with {
          $0.command = ["true"]
          $0.timeout = .init(seconds: -5, nanos: 0)
        }
      )
    }
    expectInvalid(field: "spec.strategy") {
      try TaskSpec(
        validating: .with {
          $0.command = ["true"]
          $0.strategy = "fastest"
        }
      )
    }
    expectInvalid(field: "spec.constraints") {
      try TaskSpec(
        validating: .with {
          $0.command = ["true"]
          $0.constraints = Array(repeating: "a=b", count: LabelConstraint.maxPerTask + 1)
        }
      )
    }
    expectInvalid(field: "spec.command") { try TaskSpec(validating: .init()) }
  }

  @Test("every task state and termination reason maps to the wire and back")
  func enumsRoundTrip() throws {
    for state in TaskState.allCases {
      #expect(try TaskState.from(Orchion_V1_TaskState(state), field: "state") == state)
    }
    for reason in TerminationReason.allCases {
      let proto = Orchion_V1_TerminationReason(reason)
      #expect(try TerminationReason.from(proto, field: "termination") == reason)
    }
    #expect(try TaskState.from(.unspecified, field: "state") == nil)
    #expect(try TerminationReason.from(.unspecified, field: "termination") == nil)
  }

  @Test("an enum value from a newer peer is refused naming the field, not mistaken for another")
  func unknownEnums() {
    expectInvalid(field: "state") { try TaskState.from(.UNRECOGNIZED(99), field: "state") }
    expectInvalid(field: "updates[0].termination") {
      try TerminationReason.from(.UNRECOGNIZED(42), field: "updates[0].termination")
    }
  }
}
