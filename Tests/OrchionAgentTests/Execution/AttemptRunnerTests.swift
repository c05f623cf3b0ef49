import Foundation
import OrchionAPI
import OrchionCore
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

@testable import OrchionAgent

/// One attempt from assignment to final report, with real processes through the spawner; time
/// (timeouts) on the manual clock.
@Suite("AttemptRunner", .timeLimit(.minutes(1)))
struct AttemptRunnerTests {
  let clock = ManualClock()
  let outbox = Outbox(maxBytes: 1 << 20)
  let node = try! NodeID(validating: "node-a")

  func assignment(
    _ command: [String],
    timeout: Duration? = nil,
    secrets: [String: String] = [:],
    secretValues: [String: String] = [:],
    taskToken: String = ""
  ) throws -> Assignment {
    var spec = TaskSpec(command: command, timeout: timeout, surviveDisconnect: true)
    spec.secretEnvironment = secrets
    let message = Orchion_V1_TaskAssignment.with {
      $0.taskID = TaskID(createdAt: clock.now, sequence: 1).rawValue
      $0.attemptID = "a0000000000000001"
      $0.attempt = 1
      $0.spec = .init(spec)
      $0.serverAddress = "127.0.0.1:50051"
      $0.secretValues = secretValues
      $0.taskToken = taskToken
    }
    return try Assignment(validating: message)
  }

  func run(_ runner: AttemptRunner) async {
    await runner.run(
      outbox: outbox,
      clock: clock,
      killGrace: .seconds(5),
      nodeID: node,
      baseEnvironment: ["PATH": "/usr/bin:/bin"]
    )
  }

  var statuses: [Orchion_V1_TaskStatusUpdate] {
    outbox.items(after: 0).compactMap { item in
      if case .status(let update) = item.payload { return update }
      return nil
    }
  }

  var output: String {
    let chunks = outbox.items(after: 0).compactMap { item -> Data? in
      if case .log(let entry) = item.payload, entry.chunk.stream == .stdout {
        return entry.chunk.data
      }
      return nil
    }
    return String(decoding: chunks.reduce(Data(), +), as: UTF8.self)
  }

  @Test("a command that exits 0 reports RUNNING then SUCCEEDED, its output in sequenced chunks")
  func succeeds() async throws {
    let runner = AttemptRunner(
      assignment: try assignment(["sh", "-c", "echo \"$ORCHION_TASK_ID on $ORCHION_NODE_ID\""])
    )
    await run(runner)
    #expect(statuses.map(\.state) == [.running, .succeeded])
    #expect(output == "\(runner.taskID) on node-a\n")
    #expect(statuses.last?.attemptID == "a0000000000000001")
  }

  @Test(
    "a command that is not on PATH fails with 127, as could-not-start, without running anything"
  )
  func notFound() async throws {
    await run(AttemptRunner(assignment: try assignment(["no-such-command-xyz"])))
    #expect(statuses.map(\.state) == [.failed])
    #expect(statuses.first?.exitCode == 127)
    #expect(statuses.first?.termination == .init(TerminationReason.couldNotStart))
    #expect(statuses.first?.message == "command not found: 'no-such-command-xyz'")
  }

  @Test("secret values and the attempt's token are redacted from its output, even cut across writes")
  func redactsOutput() async throws {
    let runner = AttemptRunner(
      assignment: try assignment(
        ["sh", "-c", "printf 'key=%s' \"${KEY%????}\"; sleep 0.1; printf '%s\\n' \"${KEY#${KEY%????}}\"; echo \"token=$ORCHION_TOKEN\" >&2; echo \"$ORCHION_TOKEN\""],
        secrets: ["KEY": "anthropic"],
        secretValues: ["KEY": "sk-ant-0123456789"],
        taskToken: "otk-secret-token-value"
      )
    )
    await run(runner)
    #expect(statuses.last?.state == .succeeded)
    #expect(output == "key=[secret anthropic]\n[secret ORCHION_TOKEN]\n")
  }

  @Test("a secret whose value was not delivered fails the attempt before anything starts")
  func missingSecret() async throws {
    let runner = AttemptRunner(
      assignment: try assignment(["true"], secrets: ["API_KEY": "api-key"])
    )
    await run(runner)
    #expect(statuses.map(\.state) == [.failed])
    #expect(statuses.first?.termination == .init(TerminationReason.couldNotStart))
    #expect(statuses.first?.message.contains("secret 'api-key' was not delivered") == true)
  }

  @Test("the timeout ends the process tree when the clock passes it, typed as timed out")
  func timesOut() async throws {
    let runner = AttemptRunner(assignment: try assignment(["sleep", "30"], timeout: .seconds(5)))
    let running = Task { await run(runner) }
    try await eventually { statuses.map(\.state) == [.running] }
    try await clock.waitForSleepers(1)
    clock.advance(by: .seconds(4))
    #expect(statuses.map(\.state) == [.running], "not before the timeout")
    clock.advance(by: .seconds(1))
    await running.value
    #expect(statuses.map(\.state) == [.running, .failed])
    #expect(statuses.last?.termination == .init(TerminationReason.timedOut))
    #expect(statuses.last?.message.hasPrefix("timed out after 5s") == true)
  }

  @Test("a stop ends the process tree; the attempt reports the state the orchestrator asked for")
  func stopped() async throws {
    let runner = AttemptRunner(assignment: try assignment(["sleep", "30"]))
    let running = Task { await run(runner) }
    try await eventually { statuses.map(\.state) == [.running] }
    runner.stop(.stopped(state: .cancelled, reason: "cancelled by request"))
    await running.value
    #expect(statuses.map(\.state) == [.running, .cancelled])
    #expect(statuses.last?.message == "cancelled by request")
  }

  @Test("an assignment that does not decode is refused naming the field")
  func undecodable() throws {
    let message = Orchion_V1_TaskAssignment.with {
      $0.taskID = "not a task id"
      $0.attemptID = "a0000000000000001"
    }
    do {
      _ = try Assignment(validating: message)
      Issue.record("decoded an assignment with an invalid task ID")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.field == "assign.task_id")
    }
  }
}
