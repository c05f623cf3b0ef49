import OrchionAPI
import OrchionCore
import OrchionWire
import Synchronization

/// Output of every task, kept on the orchestrator so `logs` works after the task ended and after
/// its agent left.
///
/// Bounded per task: when a task's output exceeds the limit the oldest chunks are dropped, and
/// a reader is told how many bytes it missed. Readers hold a cursor (an index into the task's
/// chunks) instead of a buffer, so a slow follower costs no memory; followers wait on a doorbell
/// that rings on every append and when the task finishes.
final class LogStore: Sendable {
  private struct Stored: Sendable {
    var chunk: Orchion_V1_LogChunk
    var bytes: Int
  }

  private struct StreamKey: Hashable, Sendable {
    var attempt: AttemptID
    var stream: Int
  }

  private struct TaskLog: Sendable {
    var chunks: [Stored] = []
    /// Index of `chunks[0]` among all chunks ever appended to this task.
    var firstIndex: Int64 = 0
    var bytes = 0
    var droppedBytes: Int64 = 0
    var finished = false
    var nextSequence: [StreamKey: Int64] = [:]
    var doorbells: [Int: AsyncStream<Void>.Continuation] = [:]

    var endIndex: Int64 { firstIndex + Int64(chunks.count) }
  }

  private struct State: Sendable {
    var logs: [TaskID: TaskLog] = [:]
    var nextDoorbell = 0
    var closed = false
  }

  /// What a reader gets: chunks from its cursor on, and where to continue.
  struct Read: Sendable {
    var chunks: [Orchion_V1_LogChunk]
    /// Bytes dropped (limit reached) between the cursor and the first chunk returned.
    var missedBytes: Int64
    var next: Int64
    var finished: Bool
  }

  /// Most bytes kept per task.
  let maxBytesPerTask: Int
  private let state = Mutex(State())

  init(maxBytesPerTask: Int) {
    self.maxBytesPerTask = maxBytesPerTask
  }

  /// Appends a chunk of `attempt`'s output; a chunk whose sequence was already stored (resent
  /// after a reconnect) is dropped.
  /// - Returns: Whether it was stored.
  @discardableResult
  func append(_ chunk: Orchion_V1_LogChunk, task: TaskID, attempt: AttemptID) -> Bool {
    let doorbells: [AsyncStream<Void>.Continuation]? = state.withLock { state in
      var log = state.logs[task] ?? TaskLog()
      let key = StreamKey(attempt: attempt, stream: chunk.stream.rawValue)
      let expected = log.nextSequence[key] ?? 0
      guard chunk.sequence >= expected else { return nil }
      log.nextSequence[key] = chunk.sequence + 1
      log.chunks.append(Stored(chunk: chunk, bytes: chunk.data.count))
      log.bytes += chunk.data.count
      while log.bytes > maxBytesPerTask, let first = log.chunks.first {
        log.chunks.removeFirst()
        log.firstIndex += 1
        log.bytes -= first.bytes
        log.droppedBytes += Int64(first.bytes)
      }
      state.logs[task] = log
      return Array(log.doorbells.values)
    }
    guard let doorbells else { return false }
    for doorbell in doorbells { doorbell.yield() }
    return true
  }

  /// Marks a task finished: followers end once they have read everything.
  func finish(_ task: TaskID) {
    let doorbells = state.withLock { state in
      state.logs[task, default: TaskLog()].finished = true
      return Array(state.logs[task]?.doorbells.values ?? [:].values)
    }
    for doorbell in doorbells { doorbell.yield() }
  }

  /// Forgets a task's output.
  func remove(_ task: TaskID) {
    let log = state.withLock { $0.logs.removeValue(forKey: task) }
    for doorbell in log?.doorbells.values ?? [:].values { doorbell.finish() }
  }

  /// Reads from `cursor` on, at most `maxChunks` chunks.
  func read(_ task: TaskID, from cursor: Int64, maxChunks: Int = 256) -> Read {
    state.withLock { state in
      guard let log = state.logs[task] else {
        return Read(chunks: [], missedBytes: 0, next: cursor, finished: state.closed)
      }
      let start = max(cursor, log.firstIndex)
      let missed = cursor < log.firstIndex ? log.droppedBytes : 0
      let from = Int(start - log.firstIndex)
      let to = min(log.chunks.count, from + maxChunks)
      let chunks = from < to ? log.chunks[from..<to].map(\.chunk) : []
      return Read(
        chunks: chunks,
        missedBytes: missed,
        next: start + Int64(chunks.count),
        finished: (log.finished || state.closed) && start + Int64(chunks.count) == log.endIndex
      )
    }
  }

  /// A doorbell that rings when `task` gets output or finishes; `cancel` releases it.
  func doorbell(for task: TaskID) -> (rings: AsyncStream<Void>, cancel: @Sendable () -> Void) {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Void.self,
      bufferingPolicy: .bufferingNewest(1)
    )
    let id: Int? = state.withLock { state in
      guard !state.closed else { return nil }
      let id = state.nextDoorbell
      state.nextDoorbell += 1
      state.logs[task, default: TaskLog()].doorbells[id] = continuation
      return id
    }
    guard let id else {
      continuation.finish()
      return (stream, {})
    }
    let cancel: @Sendable () -> Void = { [weak self] in
      _ = self?.state.withLock { $0.logs[task]?.doorbells.removeValue(forKey: id) }
      continuation.finish()
    }
    return (stream, cancel)
  }

  /// Ends every follower: the process is shutting down.
  func close() {
    let doorbells = state.withLock { state in
      state.closed = true
      return state.logs.values.flatMap { $0.doorbells.values }
    }
    for doorbell in doorbells { doorbell.finish() }
  }
}
