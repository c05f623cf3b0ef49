import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import Synchronization

/// Output of every task, kept on the orchestrator so `logs` works after the task ended and after
/// its agent left.
///
/// Bounded per task, in bytes and in chunks: beyond either limit the oldest chunks are dropped,
/// and a reader is told how many bytes it missed. Appending costs O(1) amortised (see
/// ``TaskLog``), so a task printing a line per chunk costs the same per line at its millionth. Readers hold a cursor (an index into the task's
/// chunks) instead of a buffer, so a slow follower costs no memory; followers wait on a doorbell
/// that rings on every append and when the task finishes.
final class LogStore: Sendable {
  private struct State: Sendable {
    var logs: [TaskID: TaskLog] = [:]
    /// Finished tasks whose output is in the durable store and not loaded yet (after a
    /// restart): loaded when someone reads it.
    var onDisk: Set<TaskID> = []
    var nextDoorbell = 0
    var closed = false

    /// The log of `task`, created if need be. (`logs[task, default:]` would not keep a new
    /// one: mutating a class instance goes through the getter.)
    mutating func log(_ task: TaskID) -> TaskLog {
      if let existing = logs[task] { return existing }
      let created = TaskLog()
      logs[task] = created
      return created
    }
  }

  /// What a reader gets: chunks from its cursor on, and where to continue.
  struct Read: Sendable {
    var chunks: [LogChunk]
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
  /// Most chunks kept per task: a node sending one-byte chunks must not make the byte bound
  /// cost a million chunk headers.
  let maxChunksPerTask: Int
  private let state = Mutex(State())

  /// - Parameters:
  ///   - maxBytesPerTask: Most output bytes kept per task; the oldest go first.
  ///   - maxChunksPerTask: Most chunks kept per task, likewise.
  init(maxBytesPerTask: Int, maxChunksPerTask: Int = LogStore.defaultMaxChunksPerTask) {
    self.maxBytesPerTask = maxBytesPerTask
    self.maxChunksPerTask = max(1, maxChunksPerTask)
  }

  /// 64 Ki chunks: 1 MiB of output in chunks of 16 bytes or more.
  static let defaultMaxChunksPerTask = 65_536

  /// Where an appended chunk went, for the durable store.
  struct Appended: Sendable, Equatable {
    /// The chunk's position among all chunks of the task.
    var index: Int64
    /// Set when older chunks were dropped to make room: the first position still kept.
    var trimmedBefore: Int64?
  }

  /// Appends a chunk of `attempt`'s output; a chunk whose sequence was already stored (resent
  /// after a reconnect) is dropped. The chunk must have been validated at the edge (a
  /// sequence below `Int64.max`, data within bounds).
  /// - Returns: Where it was stored; `nil` when it was a duplicate.
  @discardableResult
  func append(_ chunk: LogChunk, task: TaskID, attempt: AttemptID) -> Appended? {
    let result: (Appended, [AsyncStream<Void>.Continuation])? = state.withLock { state in
      let log = state.log(task)
      let key = TaskLog.StreamKey(attempt: attempt, stream: chunk.stream)
      let expected = log.nextSequence[key] ?? 0
      guard chunk.sequence >= expected else { return nil }
      // Saturating: a sequence of Int64.max must not trap, nor wrap to accept everything
      // after it (the edge refuses it; this stays safe).
      log.nextSequence[key] = chunk.sequence == .max ? .max : chunk.sequence + 1
      let (index, trimmedBefore) = log.append(
        TaskLog.Stored(chunk: chunk, bytes: chunk.data.count),
        maxBytes: maxBytesPerTask,
        maxChunks: maxChunksPerTask
      )
      let doorbells = log.doorbells.isEmpty ? [] : Array(log.doorbells.values)
      return (Appended(index: index, trimmedBefore: trimmedBefore), doorbells)
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
      let log = TaskLog(firstIndex: entries.first?.index ?? 0)
      for entry in entries {
        _ = log.append(
          TaskLog.Stored(chunk: entry.chunk, bytes: entry.chunk.data.count),
          maxBytes: Int.max,
          maxChunks: Int.max
        )
        let key = TaskLog.StreamKey(attempt: entry.attempt, stream: entry.chunk.stream)
        let next = entry.chunk.sequence == .max ? .max : entry.chunk.sequence + 1
        log.nextSequence[key] = max(log.nextSequence[key] ?? 0, next)
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
      let log = state.log(task)
      log.finished = true
      return Array(log.doorbells.values)
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
      let chunks = log.chunks(from: start, limit: maxChunks)
      let next = start &+ Int64(chunks.count)
      return Read(
        chunks: chunks,
        missedBytes: cursor < log.firstIndex ? log.droppedBytes : 0,
        missedSome: cursor < log.firstIndex,
        next: next,
        finished: (log.finished || state.closed) && next >= log.endIndex
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
      state.log(task).doorbells[id] = continuation
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
