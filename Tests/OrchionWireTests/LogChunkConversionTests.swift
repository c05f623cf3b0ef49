import Foundation
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Testing

@Suite("LogChunk conversions")
struct LogChunkConversionTests {
  let task = TaskID(createdAt: .epoch, sequence: 7)

  @Test("a chunk survives the wire both ways, time included or not", arguments: [true, false])
  func roundTrip(withTime: Bool) throws {
    let chunk = LogChunk(
      task: task,
      attempt: 3,
      stream: .stderr,
      sequence: 41,
      data: Data("boom\n".utf8),
      time: withTime ? UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_123_456_789) : nil
    )
    let wire = Orchion_V1_LogChunk(chunk)
    #expect(wire.stream == .stderr)
    #expect(wire.hasTime == withTime)
    #expect(try LogChunk(validating: wire) == chunk)
  }

  @Test("an unknown stream or a task ID that is none is refused naming the field")
  func refused() {
    var wire = Orchion_V1_LogChunk(
      LogChunk(task: task, attempt: 1, stream: .stdout, sequence: 0, data: Data())
    )
    wire.stream = .unspecified
    #expect(
      throws: OrchionError.invalidArgument(
        field: "chunk.stream",
        "chunk.stream: 0 is not STDOUT, STDERR or SYSTEM"
      )
    ) {
      try LogChunk(validating: wire)
    }
    wire.stream = .system
    wire.taskID = ""
    do {
      _ = try LogChunk(validating: wire)
      Issue.record("accepted an empty task ID")
    } catch {
      #expect(error.field == "chunk.task_id")
    }
  }
}
