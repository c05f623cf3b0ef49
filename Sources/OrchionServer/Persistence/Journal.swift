import CoreMetrics
import Logging
import OrchionCore
import OrchionStore
import Synchronization

/// Writes the orchestrator's state changes to the store in the order they happened, and only
/// then performs what depends on them: answering a submission, sending an assignment,
/// acknowledging an agent's report. So nothing anyone was told is lost in a crash — a task that
/// was acknowledged is on disk; an assignment an agent runs is on disk before the agent hears of
/// it; a report is acknowledged (and so not sent again) only once it is on disk.
///
/// Entries are appended while their caller holds the lock that ordered them (the dispatcher's),
/// so store order is decision order. Everything waiting when a commit starts goes into that
/// commit: concurrent submissions share one fsync (group commit).
///
/// When a commit fails, the journal retries it (backing off on its clock) and keeps every
/// change queued, in order: nothing is dropped, so what is in memory reaches the store once it
/// takes writes again. Until then:
/// - a store that is *full* (`storeFull`, e.g. SQLite's `SQLITE_FULL`) fails every
///   waiter at once with that error, and each waiter that comes while it stays full, and
///   ``checkAccepting()`` refuses new work — a client hears "disk full" in milliseconds, not
///   never. (The changes of a waiter told so stay queued, and are written if space frees before
///   the orchestrator stops: the message says so.)
/// - a store that is unreachable (`storeUnavailable`) keeps its waiters waiting: it usually comes
///   back in seconds (a database restart), and the retry then answers them.
/// The retry loop ends when its task is cancelled (a shutdown past its grace), or for good when
/// the store answers `leaseLost`: another orchestrator may be writing now.
final class Journal: Sendable {
  typealias Effect = @Sendable () -> Void

  private struct Entry: Sendable {
    var sequence: UInt64
    var changes: [StateChange]
    var effect: Effect?
  }

  private struct State: Sendable {
    var queue: [Entry] = []
    var nextSequence: UInt64 = 1
    var durableThrough: UInt64 = 0
    var waiters: [(sequence: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    var doorbell: CheckedContinuation<Void, Never>?
    var closing = false
    /// Set when the store refuses for good (this orchestrator lost the leader lease).
    var failure: OrchionError?
    /// Set while the store is full: the error waiters get until a commit lands again.
    var full: OrchionError?
    /// Set when ``run()`` ended without writing what is queued (cancelled while retrying).
    var stopped: OrchionError?
  }

  private let store: any Store
  private let metrics: ServerMetrics
  private let logger: Logger
  private let clock: any WallClock
  private let state = Mutex(State())
  /// Longest wait between retries of a commit the store refused for a passing reason.
  private let maxRetryDelay: Duration

  init(
    store: any Store,
    logger: Logger,
    clock: any WallClock = SystemClock(),
    maxRetryDelay: Duration = .seconds(2),
    metrics: ServerMetrics = .none
  ) {
    self.metrics = metrics
    self.store = store
    self.logger = logger
    self.clock = clock
    self.maxRetryDelay = maxRetryDelay
  }

  /// Refuses new work while the store cannot take it, so a request that would only wait for a
  /// full disk is answered at once and changes nothing.
  /// - Throws: `storeFull` while the store is full; `leaseLost` or `shuttingDown` once the
  ///   journal stopped for good.
  func checkAccepting() throws(OrchionError) {
    let refusal = state.withLock { $0.failure ?? $0.stopped ?? $0.full }
    if let refusal { throw refusal }
  }

  /// Queues `changes`, then `effect` once they (and everything queued before) are durable.
  /// Never waits.
  /// - Returns: The entry's sequence number, for ``waitUntilDurable(_:)``.
  @discardableResult
  func append(_ changes: [StateChange], then effect: Effect? = nil) -> UInt64 {
    let (sequence, doorbell) = state.withLock { state in
      let sequence = state.nextSequence
      state.nextSequence += 1
      state.queue.append(Entry(sequence: sequence, changes: changes, effect: effect))
      defer { state.doorbell = nil }
      return (sequence, state.doorbell)
    }
    doorbell?.resume()
    return sequence
  }

  /// The last entry queued: waiting for it waits for everything queued so far (a repeated
  /// idempotent submission answers only once the first one's commit is durable).
  var lastEntry: UInt64 { state.withLock { $0.nextSequence &- 1 } }

  /// Waits until the entry `sequence` is durable.
  /// - Throws: `shuttingDown` or `leaseLost` when the journal stopped before it was;
  ///   `storeFull` when the store is full.
  func waitUntilDurable(_ sequence: UInt64) async throws {
    try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<Void, any Error>) in
      let outcome: Result<Void, any Error>? = state.withLock { state in
        if state.durableThrough >= sequence { return .success(()) }
        if let refusal = state.failure ?? state.stopped ?? state.full {
          return .failure(refusal)
        }
        state.waiters.append((sequence, continuation))
        return nil
      }
      if let outcome { continuation.resume(with: outcome) }
    }
  }

  /// Commits entries as they come until ``close()`` and the queue is empty.
  func run() async {
    while let batch = await nextBatch() {
      let changes = batch.flatMap(\.changes)
      guard await commit(changes) else { return }
      guard let last = batch.last?.sequence else { continue }
      let ready = state.withLock { state in
        state.durableThrough = last
        state.full = nil
        let ready = state.waiters.filter { $0.sequence <= last }
        state.waiters.removeAll { $0.sequence <= last }
        return ready
      }
      for entry in batch { entry.effect?() }
      for waiter in ready { waiter.continuation.resume() }
    }
  }

  /// Why the journal stopped writing for good (this orchestrator lost the leader lease), if it
  /// did.
  var failure: OrchionError? { state.withLock { $0.failure } }

  /// Lets ``run()`` finish once what is queued is committed.
  func close() {
    let doorbell = state.withLock { state in
      state.closing = true
      defer { state.doorbell = nil }
      return state.doorbell
    }
    doorbell?.resume()
  }

  private enum Next: Sendable {
    case batch([Entry])
    case done
    case wait
  }

  /// Everything queued, waiting for something to be queued when nothing is; `nil` once closed
  /// and drained.
  private func nextBatch() async -> [Entry]? {
    while true {
      let next: Next = state.withLock { state in
        if !state.queue.isEmpty {
          defer { state.queue.removeAll(keepingCapacity: true) }
          return .batch(state.queue)
        }
        return state.closing ? .done : .wait
      }
      switch next {
      case .batch(let batch): return batch
      case .done: return nil
      case .wait:
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
          let ready = state.withLock { state in
            if !state.queue.isEmpty || state.closing { return true }
            state.doorbell = continuation
            return false
          }
          if ready { continuation.resume() }
        }
      }
    }
  }

  /// Commits, retrying while the store is unreachable or full; gives up when the store says
  /// this orchestrator may no longer write, or when the task is cancelled.
  private func commit(_ changes: [StateChange]) async -> Bool {
    var changes = changes
    var delay = Duration.milliseconds(50)
    while true {
      do {
        let started = ContinuousClock.now
        try await store.commit(changes)
        metrics.journalCommit.record(ContinuousClock.now - started)
        metrics.journalBatch.record(changes.count)
        return true
      } catch  where error.code == .leaseLost {
        fail(error)
        return false
      } catch {
        if error.code == .storeFull { refuseWhileFull(error) }
        logger.error(
          "cannot write state, retrying",
          metadata: ["error": "\(error.fullMessage)", "retry_in": "\(delay)"]
        )
        do {
          try await clock.sleep(for: delay)
        } catch {
          // Cancelled: a shutdown that can no longer wait for the store (which gives up on
          // a call in flight when cancelled: see Store). What is queued is not written, or
          // not known to be; its waiters are told so.
          stop()
          return false
        }
        delay = min(delay * 2, maxRetryDelay)
        // A connection lost during COMMIT leaves its outcome unknown: the retry must be
        // harmless if the first try did land, so creations are written as upserts from now on.
        changes = changes.map { change in
          if case .taskCreated(let task) = change { return .taskChanged(task) }
          return change
        }
      }
    }
  }

  /// The store is full: every waiter hears it now, and so does every later one until a commit
  /// lands. Their changes stay queued.
  private func refuseWhileFull(_ error: OrchionError) {
    let refusal = OrchionError.storeFull(
      "\(error.message); not saved yet (it is written if space frees before the orchestrator "
        + "stops): free space on the store's disk and retry"
    )
    let waiters = state.withLock { state in
      state.full = refusal
      defer { state.waiters.removeAll() }
      return state.waiters
    }
    for waiter in waiters { waiter.continuation.resume(throwing: refusal) }
  }

  private func stop() {
    let refusal = OrchionError.shuttingDown(
      "the orchestrator is shutting down: the change may not have been saved"
    )
    let waiters = state.withLock { state in
      state.stopped = refusal
      defer { state.waiters.removeAll() }
      return state.waiters
    }
    logger.critical(
      "shutting down with changes not written: the store did not take them",
      metadata: ["waiters": "\(waiters.count)"]
    )
    for waiter in waiters { waiter.continuation.resume(throwing: refusal) }
  }

  private func fail(_ error: OrchionError) {
    logger.critical(
      "the store refused a write; this orchestrator stops writing",
      metadata: ["error": "\(error.fullMessage)"]
    )
    let failure = OrchionError.leaseLost(
      "lost the leader lease: the store refused a write",
      cause: error
    )
    let waiters = state.withLock { state in
      state.failure = failure
      defer { state.waiters.removeAll() }
      return state.waiters
    }
    for waiter in waiters { waiter.continuation.resume(throwing: failure) }
  }
}
