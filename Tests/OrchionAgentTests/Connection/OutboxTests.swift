import Foundation
import OrchionAPI
import OrchionTestSupport
import SwiftProtobuf
import Testing

@testable import OrchionAgent

@Suite("Outbox")
struct OutboxTests {
  func log(_ bytes: Int, sequence: Int64 = 0) -> Orchion_V1_AttemptLog {
    var entry = Orchion_V1_AttemptLog()
    entry.attemptID = "a"
    entry.chunk.data = Data(repeating: 65, count: bytes)
    entry.chunk.sequence = sequence
    return entry
  }

  @Test("items keep their order and stay until acknowledged; a new connection resends them")
  func resendUntilAcknowledged() async throws {
    let outbox = Outbox(maxBytes: 1 << 20)
    outbox.post(status: .with { $0.taskID = "t1" })
    try await outbox.post(log: log(10))
    outbox.post(status: .with { $0.taskID = "t2" })
    #expect(outbox.items(after: 0).map(\.sequence) == [1, 2, 3])
    #expect(outbox.acknowledgedSequence == 0)
    outbox.acknowledge(upTo: 2)
    #expect(outbox.acknowledgedSequence == 2)
    #expect(outbox.items(after: outbox.acknowledgedSequence).map(\.sequence) == [3])
    outbox.acknowledge(upTo: 3)
    #expect(outbox.items(after: 0).isEmpty)
    #expect(outbox.acknowledgedSequence == outbox.lastSequence)
  }

  @Test("output beyond the byte limit waits until acknowledgements make room (back-pressure)")
  func backPressure() async throws {
    let outbox = Outbox(maxBytes: 100)
    try await outbox.post(log: log(60))
    let blocked = Task { try await outbox.post(log: log(60, sequence: 1)) }
    // The writer reaches the wait (it would post at once were back-pressure broken, and this
    // would never hold) and has queued nothing.
    try await eventually { outbox.waitingWriters == 1 }
    #expect(outbox.lastSequence == 1)
    outbox.acknowledge(upTo: 1)
    try await blocked.value
    #expect(outbox.lastSequence == 2)
  }

  @Test("a waiting writer can be cancelled")
  func cancellation() async throws {
    let outbox = Outbox(maxBytes: 10)
    try await outbox.post(log: log(10))
    let blocked = Task { try await outbox.post(log: log(10)) }
    try await eventually { outbox.waitingWriters == 1 }
    blocked.cancel()
    await #expect(throws: CancellationError.self) { try await blocked.value }
  }

  @Test("coalescing packs runs of one kind into one message carrying the last sequence")
  func coalesce() async throws {
    let outbox = Outbox(maxBytes: 1 << 20)
    try await outbox.post(log: log(1))
    try await outbox.post(log: log(1, sequence: 1))
    outbox.post(status: .with { $0.taskID = "t" })
    try await outbox.post(log: log(1, sequence: 2))
    let messages = AgentConnection.coalesce(outbox.items(after: 0))
    #expect(messages.map(\.outboxSequence) == [2, 3, 4])
    #expect(messages.first?.logs.entries.count == 2)
  }
}
