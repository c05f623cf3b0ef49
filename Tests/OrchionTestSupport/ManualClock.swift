import OrchionCore
import Synchronization

/// A clock that moves only when a test advances it, so timeouts are tested without sleeping.
///
/// ```swift
/// let clock = ManualClock()
/// try await clock.waitForSleepers(1)   // the code under test is now waiting on the clock
/// clock.advance(by: .seconds(31))      // and wakes up as if 31 s had passed
/// ```
public final class ManualClock: WallClock {
  private struct Sleeper {
    var deadline: UTCInstant
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var now: UTCInstant
    var sleepers: [Int: Sleeper] = [:]
    var cancelled: Set<Int> = []
    var nextID = 0
  }

  private let state: Mutex<State>

  /// Creates a clock showing `now` (by default 2023-11-14T22:13:20Z).
  public init(now: UTCInstant = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)) {
    state = Mutex(State(now: now))
  }

  public var now: UTCInstant { state.withLock { $0.now } }

  public var minimumResolution: Duration { .nanoseconds(1) }

  /// How many tasks are sleeping on this clock right now.
  public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

  /// Moves time forward and wakes every sleeper whose deadline has come.
  /// - Parameter duration: How far to move.
  public func advance(by duration: Duration) {
    let due = state.withLock { state in
      state.now = state.now.advanced(by: duration)
      let now = state.now
      let ids = state.sleepers.filter { $0.value.deadline <= now }.map(\.key)
      return ids.compactMap { state.sleepers.removeValue(forKey: $0)?.continuation }
    }
    for continuation in due { continuation.resume() }
  }

  /// Waits (in real time, briefly) until at least `count` tasks sleep on this clock, so that an
  /// advance is seen by them. Fails after 30 s of real time (a safety net, not a measurement:
  /// a full parallel run on two cores can keep a task from running for seconds).
  public func waitForSleepers(_ count: Int = 1) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while sleeperCount < count {
      guard ContinuousClock.now < deadline else {
        throw OrchionError(code: .internalError, message: "no task started sleeping on the clock")
      }
      try await Task.sleep(for: .milliseconds(1))
    }
  }

  public func sleep(until deadline: UTCInstant, tolerance: Duration?) async throws {
    let id = state.withLock { state in
      defer { state.nextID += 1 }
      return state.nextID
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Void, any Error>) in
        let outcome: Result<Void, any Error>? = state.withLock { state in
          if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
          if deadline <= state.now { return .success(()) }
          state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
          return nil
        }
        if let outcome { continuation.resume(with: outcome) }
      }
    } onCancel: {
      let continuation = state.withLock { state in
        guard let sleeper = state.sleepers.removeValue(forKey: id) else {
          state.cancelled.insert(id)
          return CheckedContinuation<Void, any Error>?.none
        }
        return sleeper.continuation
      }
      continuation?.resume(throwing: CancellationError())
    }
  }
}
