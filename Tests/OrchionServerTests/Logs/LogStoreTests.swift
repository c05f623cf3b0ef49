import Foundation
import OrchionCore
import Testing

@testable import OrchionServer

@Suite("LogStore")
struct LogStoreTests {
  let task = TaskID(createdAt: .epoch, sequence: 1)

  func chunk(_ text: String, sequence: Int64, stream: LogChunk.Stream = .stdout) -> LogChunk {
    LogChunk(task: task, attempt: 1, stream: stream, sequence: sequence, data: Data(text.utf8))
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

  @Test("a chunk with sequence Int64.max is stored without trapping; lower ones are resends")
  func largestSequence() throws {
    let store = LogStore(maxBytesPerTask: 1 << 20)
    let attempt = try AttemptID(validating: "a1")
    #expect(store.append(chunk("x", sequence: .max), task: task, attempt: attempt)?.index == 0)
    #expect(store.append(chunk("y", sequence: .max - 1), task: task, attempt: attempt) == nil)
  }

  @Test("beyond the chunk bound the oldest chunks go, with what a reader missed")
  func chunkBound() throws {
    let store = LogStore(maxBytesPerTask: 1 << 20, maxChunksPerTask: 1_000)
    let attempt = try AttemptID(validating: "a1")
    var trimmed: Int64?
    for index in 0..<100_000 {
      let appended = store.append(chunk("a", sequence: Int64(index)), task: task, attempt: attempt)
      #expect(appended?.index == Int64(index))
      trimmed = appended?.trimmedBefore ?? trimmed
    }
    #expect(trimmed == 99_000)
    let read = store.read(task, from: 0, maxChunks: 10_000)
    #expect(read.chunks.count == 1_000)
    #expect(read.chunks.first?.sequence == 99_000)
    #expect(read.missedBytes == 99_000)
    #expect(read.next == 100_000)
    // Reading from the middle of what is kept.
    #expect(
      store.read(task, from: 99_500, maxChunks: 3).chunks.map(\.sequence) == [
        99_500, 99_501, 99_502,
      ]
    )
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
