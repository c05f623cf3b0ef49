import Foundation
import OrchionAPI
import OrchionCore
import SwiftProtobuf
import Testing

@testable import OrchionStore

@Suite("StoredBytes")
struct StoredBytesTests {
  func stored(stream: Orchion_V1_LogStream, taskID: String) throws -> Data {
    let chunk = Orchion_V1_StoredLogChunk.with {
      $0.index = 3
      $0.attemptID = "a1"
      $0.chunk = .with {
        $0.taskID = taskID
        $0.stream = stream
        $0.sequence = 3
        $0.data = Data("kept\n".utf8)
      }
    }
    return Data(try chunk.serializedBytes() as [UInt8])
  }

  @Test("a stored chunk of a stream this version does not know is read back as output")
  func unknownStreamKept() throws {
    let task = TaskID(createdAt: .epoch, sequence: 1)
    for stream in [Orchion_V1_LogStream.unspecified, .UNRECOGNIZED(9)] {
      let entry = try StoredBytes.log(try stored(stream: stream, taskID: task.rawValue))
      #expect(entry.chunk.stream == .stdout)
      #expect(entry.chunk.data == Data("kept\n".utf8))
      #expect(entry.index == 3)
    }
  }

  @Test("a stored chunk whose task ID is not one is data loss, naming the record")
  func badTaskID() throws {
    let data = try stored(stream: .stdout, taskID: "")
    let error = #expect(throws: OrchionError.self) { try StoredBytes.log(data) }
    #expect(error?.code == .dataLoss)
    #expect(error?.message.hasPrefix("stored output chunk is unreadable") == true)
  }
}
