import Foundation
import OrchionAPI
import OrchionCore
import Testing

@testable import OrchionServer

@Suite("LogStore")
struct LogStoreTests {
  let task = TaskID(createdAt: .epoch, sequence: 1)

  func chunk(_ text: String, sequence: Int64, stream: Orchion_V1_LogStream = .stdout)
    -> Orchion_V1_LogChunk
  {
    var chunk = Orchion_V1_LogChunk()
    chunk.data = Data(text.utf8)
    chunk.sequence = sequence
    chunk.stream = stream
    chunk.taskID = task.rawValue
    return chunk
  }

  @Test("chunks come back in order; a resent sequence is dropped")
  func orderAndDuplicates() throws {
    let store = LogStore(maxBytesPerTask: 1 << 20)
    let attempt = try AttemptID(validating: "a1")
    #expect(store.append(chunk("a", sequence: 0), task: task, attempt: attempt)?.index == 0)
    #expect(store.append(chunk("b", sequence: 1), task: task, attempt: attempt)?.index == 1)
    #expect(store.append(chunk("a", sequence: 0), task: task, attempt: attempt) == nil)
    #expect(
      store.append(chunk("x", sequence: 0, stream: .stderr), task: task, attempt: attempt)?.index
        == 2
    )
    let read = store.read(task, from: 0)
    #expect(read.chunks.map { String(decoding: $0.data, as: UTF8.self) } == ["a", "b", "x"])
    #expect(read.missedBytes == 0)
    #expect(!read.finished)
    store.finish(task)
    #expect(store.read(task, from: read.next).finished)
  }

  @Test("beyond the per-task limit the oldest output goes, and a reader is told how much")
  func bounded() throws {
    let store = LogStore(maxBytesPerTask: 10)
    let attempt = try AttemptID(validating: "a1")
    for index in 0..<5 {
      store.append(chunk("1234", sequence: Int64(index)), task: task, attempt: attempt)
    }
    let read = store.read(task, from: 0)
    #expect(read.chunks.count == 2)
    #expect(read.missedBytes == 12)
    // A reader already past the dropped part misses nothing.
    #expect(store.read(task, from: 3).missedBytes == 0)
  }

  @Test("a follower's doorbell rings on output and on finish, and ends on close")
  func doorbell() async throws {
    let store = LogStore(maxBytesPerTask: 1 << 20)
    let attempt = try AttemptID(validating: "a1")
    let (rings, cancel) = store.doorbell(for: task)
    var iterator = rings.makeAsyncIterator()
    store.append(chunk("x", sequence: 0), task: task, attempt: attempt)
    #expect(await iterator.next() != nil)
    store.finish(task)
    #expect(await iterator.next() != nil)
    store.close()
    #expect(await iterator.next() == nil)
    cancel()
  }
}
