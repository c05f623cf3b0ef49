import Foundation
import OrchionCore

/// The output kept for one task: its newest chunks in order, bounded in bytes and in chunks.
///
/// Appending and trimming are O(1) amortised: chunks live in an array read from `head` on, so
/// the oldest leave by moving `head`, and the array is compacted only once the dead prefix is
/// as long as what is kept. A class, not a struct: it lives in a dictionary and changes with
/// every chunk, and a struct taken out of the dictionary and put back would copy all its chunks
/// each time (the O(n²) this replaced). Only touched under ``LogStore``'s lock, hence
/// `@unchecked Sendable`.
final class TaskLog: @unchecked Sendable {
  struct Stored: Sendable {
    var chunk: LogChunk
    var bytes: Int
  }

  struct StreamKey: Hashable, Sendable {
    var attempt: AttemptID
    var stream: LogChunk.Stream
  }

  /// Kept chunks are `storage[head...]`.
  private var storage: [Stored] = []
  private var head = 0
  /// Index of the first kept chunk among all chunks ever appended to this task.
  private(set) var firstIndex: Int64 = 0
  private(set) var bytes = 0
  private(set) var droppedBytes: Int64 = 0
  var finished = false
  /// The next sequence expected per attempt and stream; a lower one is a resend.
  var nextSequence: [StreamKey: Int64] = [:]
  var doorbells: [Int: AsyncStream<Void>.Continuation] = [:]

  init(firstIndex: Int64 = 0) {
    self.firstIndex = firstIndex
  }

  var count: Int { storage.count - head }
  var endIndex: Int64 { firstIndex &+ Int64(count) }

  /// Appends a chunk, then drops the oldest ones until both bounds hold again (the newest
  /// chunk is always kept).
  /// - Returns: The new chunk's index, and the first index still kept if anything was dropped.
  func append(_ stored: Stored, maxBytes: Int, maxChunks: Int) -> (
    index: Int64, trimmedBefore: Int64?
  ) {
    let index = endIndex
    storage.append(stored)
    bytes &+= stored.bytes
    var trimmed = false
    while count > 1, bytes > maxBytes || count > maxChunks {
      let first = storage[head]
      // Release the chunk's data now, not at the next compaction.
      storage[head].chunk.data = Data()
      storage[head].bytes = 0
      head += 1
      firstIndex &+= 1
      bytes &-= first.bytes
      droppedBytes &+= Int64(first.bytes)
      trimmed = true
    }
    if head > 0, head >= count {
      storage.removeFirst(head)
      head = 0
    }
    return (index, trimmed ? firstIndex : nil)
  }

  /// Up to `limit` chunks from position `index` (an index among all chunks ever appended, at
  /// least ``firstIndex``).
  func chunks(from index: Int64, limit: Int) -> [LogChunk] {
    guard index >= firstIndex, index < endIndex, limit > 0 else { return [] }
    let from = head + Int(index - firstIndex)
    let to = from + min(limit, storage.count - from)
    return storage[from..<to].map(\.chunk)
  }
}
