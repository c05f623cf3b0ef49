import OrchionAPI
import Synchronization

/// What the agent has to tell the orchestrator — status changes and task output — in order,
/// kept until the orchestrator acknowledges it.
///
/// Each item has a sequence number. A connection sends everything after the last item it sent;
/// a new connection starts again after the last acknowledged one, so nothing is lost across a
/// reconnect (the orchestrator drops what it already applied). Output is bounded in bytes:
/// when the unacknowledged output reaches the limit, `post(log:)` waits, the pipe reader stops
/// reading, and the task blocks on its next write — back-pressure instead of an unbounded buffer.
final class Outbox: Sendable {
  enum Payload: Sendable {
    case status(Orchion_V1_TaskStatusUpdate)
    case log(Orchion_V1_AttemptLog)
    /// The agent is leaving: the last item it ever queues, after every report.
    case goodbye(reason: String)
  }

  struct Item: Sendable {
    var sequence: UInt64
    var payload: Payload
    var bytes: Int
  }

  private struct SpaceWaiter {
    var bytes: Int
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var items: [Item] = []
    var head = 0
    var nextSequence: UInt64 = 1
    var bufferedBytes = 0
    var waiters: [Int: SpaceWaiter] = [:]
    var cancelledWaiters: Set<Int> = []
    var nextWaiter = 0
    var doorbell: AsyncStream<Void>.Continuation?
  }

  /// Unacknowledged output allowed before writers wait.
  let maxBytes: Int
  private let state = Mutex(State())

  init(maxBytes: Int) {
    self.maxBytes = maxBytes
  }

  /// Queues a status change. Never waits: statuses are small and few.
  /// What one queued item costs beyond its data, counted against the limit.
  static let itemOverheadBytes = 128

  func post(status: Orchion_V1_TaskStatusUpdate) {
    let doorbell = state.withLock { state in
      append(.status(status), bytes: 64, to: &state)
      return state.doorbell
    }
    doorbell?.yield()
  }

  /// Queues the goodbye of an agent that is stopping, behind every report queued before it, so
  /// the orchestrator applies those first.
  /// - Returns: Its sequence: acknowledged, the orchestrator has let the node go.
  func postGoodbye(reason: String) -> UInt64 {
    let (sequence, doorbell) = state.withLock { state in
      append(.goodbye(reason: reason), bytes: 0, to: &state)
      return (state.nextSequence - 1, state.doorbell)
    }
    doorbell?.yield()
    return sequence
  }

  /// Queues task output, waiting while too much output is unacknowledged.
  /// - Throws: `CancellationError` when the waiting task is cancelled.
  func post(log: Orchion_V1_AttemptLog) async throws {
    // Each item costs its envelope too: many tiny chunks must not fill memory under the limit.
    let bytes = log.chunk.data.count + Self.itemOverheadBytes
    let id = state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Void, any Error>) in
        let outcome: Result<Void, any Error>? = state.withLock { state in
          if state.cancelledWaiters.remove(id) != nil { return .failure(CancellationError()) }
          // An item larger than the limit is still admitted when nothing is buffered.
          if state.bufferedBytes == 0 || state.bufferedBytes + bytes <= maxBytes {
            return .success(())
          }
          state.waiters[id] = SpaceWaiter(bytes: bytes, continuation: continuation)
          return nil
        }
        if let outcome { continuation.resume(with: outcome) }
      }
    } onCancel: {
      let waiter = state.withLock { state in
        guard let waiter = state.waiters.removeValue(forKey: id) else {
          state.cancelledWaiters.insert(id)
          return SpaceWaiter?.none
        }
        return waiter
      }
      waiter?.continuation.resume(throwing: CancellationError())
    }
    // Writers admitted together may overshoot the limit by one chunk each: still bounded.
    let doorbell = state.withLock { state in
      append(.log(log), bytes: bytes, to: &state)
      return state.doorbell
    }
    doorbell?.yield()
  }

  /// Drops everything up to `sequence`: the orchestrator has applied it. Writers waiting for
  /// space go on.
  func acknowledge(upTo sequence: UInt64) {
    let resumed = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
      while state.head < state.items.count, state.items[state.head].sequence <= sequence {
        state.bufferedBytes -= state.items[state.head].bytes
        state.head += 1
      }
      if state.head > 1024, state.head * 2 > state.items.count {
        state.items.removeFirst(state.head)
        state.head = 0
      }
      var resumed: [CheckedContinuation<Void, any Error>] = []
      var projected = state.bufferedBytes
      for (id, waiter) in state.waiters.sorted(by: { $0.key < $1.key }) {
        guard projected == 0 || projected + waiter.bytes <= maxBytes else { break }
        projected += waiter.bytes
        state.waiters[id] = nil
        resumed.append(waiter.continuation)
      }
      return resumed
    }
    for continuation in resumed { continuation.resume() }
  }

  /// Items after `sequence`, at most `limit`, in order.
  func items(after sequence: UInt64, limit: Int = 512) -> [Item] {
    state.withLock { state in
      var result: [Item] = []
      var index = state.head
      while index < state.items.count, result.count < limit {
        if state.items[index].sequence > sequence { result.append(state.items[index]) }
        index += 1
      }
      return result
    }
  }

  /// The highest sequence the orchestrator has not acknowledged yet, minus one: where a new
  /// connection starts sending.
  var acknowledgedSequence: UInt64 {
    state.withLock { state in
      state.head < state.items.count ? state.items[state.head].sequence - 1 : state.nextSequence - 1
    }
  }

  /// Attempts with a status change the orchestrator has not acknowledged (typically one that
  /// ended while the orchestrator was away): a new connection names them with the running ones,
  /// so the orchestrator waits for their report instead of calling them lost.
  var attemptsWithUnacknowledgedStatus: [(taskID: String, attemptID: String)] {
    state.withLock { state in
      state.items[state.head...].compactMap { item in
        guard case .status(let update) = item.payload else { return nil }
        return (update.taskID, update.attemptID)
      }
    }
  }

  /// Writers waiting for room now (back-pressure holding them).
  var waitingWriters: Int {
    state.withLock { $0.waiters.count }
  }

  /// The sequence of the last item queued (0 when none ever was).
  var lastSequence: UInt64 {
    state.withLock { $0.nextSequence - 1 }
  }

  /// A doorbell that rings when items are queued; replaces the previous connection's.
  func subscribe() -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Void.self,
      bufferingPolicy: .bufferingNewest(1)
    )
    let previous = state.withLock { state in
      defer { state.doorbell = continuation }
      return state.doorbell
    }
    previous?.finish()
    continuation.yield()  // send what is already queued
    return stream
  }

  /// Rings the doorbell without queueing anything (e.g. a heartbeat is due).
  func ring() {
    _ = state.withLock { $0.doorbell }?.yield()
  }

  /// Ends the current doorbell: its connection is closing.
  func unsubscribe() {
    let doorbell = state.withLock { state in
      defer { state.doorbell = nil }
      return state.doorbell
    }
    doorbell?.finish()
  }

  private func append(_ payload: Payload, bytes: Int, to state: inout State) {
    state.items.append(Item(sequence: state.nextSequence, payload: payload, bytes: bytes))
    state.nextSequence += 1
    state.bufferedBytes += bytes
  }
}
