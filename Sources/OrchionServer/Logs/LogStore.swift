import OrchionAPI
import OrchionCore
import OrchionStore
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
    /// Finished tasks whose output is in the durable store and not loaded yet (after a
    /// restart): loaded when someone reads it.
    var onDisk: Set<TaskID> = []
    var nextDoorbell = 0
    var closed = false
  }

  /// What a reader gets: chunks from its cursor on, and where to continue.
  struct Read: Sendable {
    var chunks: [Orchion_V1_LogChunk]
    /// Bytes dropped (limit reached) between the cursor and the first chunk returned; 0 when
    /// unknown (dropped before a restart) or none.
    var missedBytes: Int64
    /// Output between the cursor and the first chunk returned was dropped.
    var missedSome: Bool
    var next: Int64
    var finished: Bool
  }

  /// Most bytes kept per task.
  let maxBytesPerTask: Int
  private let state = Mutex(State())

  init(maxBytesPerTask: Int) {
    self.maxBytesPerTask = maxBytesPerTask
  }

  /// Where an appended chunk went, for the durable store.
  struct Appended: Sendable, Equatable {
    /// The chunk's position among all chunks of the task.
    var index: Int64
    /// Set when older chunks were dropped to make room: the first position still kept.
    var trimmedBefore: Int64?
  }

  /// Appends a chunk of `attempt`'s output; a chunk whose sequence was already stored (resent
  /// after a reconnect) is dropped.
  /// - Returns: Where it was stored; `nil` when it was a duplicate.
  @discardableResult
  func append(_ chunk: Orchion_V1_LogChunk, task: TaskID, attempt: AttemptID) -> Appended? {
    let result: (Appended, [AsyncStream<Void>.Continuation])? = state.withLock { state in
      var log = state.logs[task] ?? TaskLog()
      let key = StreamKey(attempt: attempt, stream: chunk.stream.rawValue)
      let expected = log.nextSequence[key] ?? 0
      guard chunk.sequence >= expected else { return nil }
      log.nextSequence[key] = chunk.sequence + 1
      var appended = Appended(index: log.endIndex)
      log.chunks.append(Stored(chunk: chunk, bytes: chunk.data.count))
      log.bytes += chunk.data.count
      while log.bytes > maxBytesPerTask, let first = log.chunks.first {
        log.chunks.removeFirst()
        log.firstIndex += 1
        log.bytes -= first.bytes
        log.droppedBytes += Int64(first.bytes)
        appended.trimmedBefore = log.firstIndex
      }
      state.logs[task] = log
      return (appended, Array(log.doorbells.values))
    }
    guard let (appended, doorbells) = result else { return nil }
    for doorbell in doorbells { doorbell.yield() }
    return appended
  }

  /// Puts output read back from the durable store in place, as it was before a restart.
  /// - Parameters:
  ///   - entries: The task's stored chunks, in order (positions without gaps).
  ///   - finished: Whether the task is terminal (followers end once they have read it all).
  func restore(_ task: TaskID, entries: [StoredLogEntry], finished: Bool) {
    state.withLock { state in
      state.onDisk.remove(task)
      var log = TaskLog()
      log.firstIndex = entries.first?.index ?? 0
      for entry in entries {
        log.chunks.append(Stored(chunk: entry.chunk, bytes: entry.chunk.data.count))
        log.bytes += entry.chunk.data.count
        let key = StreamKey(attempt: entry.attempt, stream: entry.chunk.stream.rawValue)
        log.nextSequence[key] = max(log.nextSequence[key] ?? 0, entry.chunk.sequence + 1)
      }
      log.finished = finished
      log.doorbells = state.logs[task]?.doorbells ?? [:]
      state.logs[task] = log
    }
  }

  /// Marks finished tasks whose output stays in the durable store until someone reads it.
  func markOnDisk(_ tasks: some Sequence<TaskID>) {
    state.withLock { $0.onDisk.formUnion(tasks) }
  }

  /// Whether a task's output must be loaded from the durable store before it is read.
  func isOnDisk(_ task: TaskID) -> Bool {
    state.withLock { $0.onDisk.contains(task) }
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
    let log = state.withLock { state in
      state.onDisk.remove(task)
      return state.logs.removeValue(forKey: task)
    }
    for doorbell in log?.doorbells.values ?? [:].values { doorbell.finish() }
  }

  /// Reads from `cursor` on, at most `maxChunks` chunks.
  func read(_ task: TaskID, from cursor: Int64, maxChunks: Int = 256) -> Read {
    state.withLock { state in
      guard let log = state.logs[task] else {
        return Read(
          chunks: [],
          missedBytes: 0,
          missedSome: false,
          next: cursor,
          finished: state.closed
        )
      }
      let start = max(cursor, log.firstIndex)
      let missed = cursor < log.firstIndex ? log.droppedBytes : 0
      let from = Int(start - log.firstIndex)
      let to = min(log.chunks.count, from + maxChunks)
      let chunks = from < to ? log.chunks[from..<to].map(\.chunk) : []
      return Read(
        chunks: chunks,
        missedBytes: missed,
        missedSome: cursor < log.firstIndex,
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
