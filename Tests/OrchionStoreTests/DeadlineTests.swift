import OrchionCore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionStore

/// Giving up on work that does not answer, on the manual clock.
@Suite("Deadline", .timeLimit(.minutes(1)))
struct DeadlineTests {
  /// Work that ignores cancellation and answers only when let go.
  final class Hung: Sendable {
    let released = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let started = Mutex(false)

    func work() async -> Int {
      await withCheckedContinuation { continuation in
        released.withLock { $0 = continuation }
        started.withLock { $0 = true }
      }
      return 1
    }

    func release() { released.withLock { $0?.resume() } }
  }

  @Test("work that does not answer within the limit surfaces as UNAVAILABLE naming what it was")
  func gaveUp() async throws {
    let clock = ManualClock()
    let hung = Hung()
    let call = Task {
      try await Deadline.run(within: .seconds(10), "connect", clock: clock) { await hung.work() }
    }
    try await eventually { hung.started.withLock { $0 } }
    try await clock.waitForSleepers(1)
    clock.advance(by: .seconds(9))
    #expect(clock.sleeperCount == 1, "still waiting before the limit")
    clock.advance(by: .seconds(1))
    do {
      _ = try await call.value
      Issue.record("returned although the work never answered")
    } catch let error as OrchionError {
      #expect(error.code == .storeUnavailable)
      #expect(error.message == "connect: no answer within 10s")
    }
    hung.release()
  }

  @Test("an answer within the limit is returned and the timer goes")
  func answered() async throws {
    let clock = ManualClock()
    let value = try await Deadline.run(within: .seconds(10), "read", clock: clock) { 42 }
    #expect(value == 42)
    try await eventually { clock.sleeperCount == 0 }
  }

  @Test("the caller being cancelled frees it at once, whatever the work does")
  func cancelled() async throws {
    let clock = ManualClock()
    let hung = Hung()
    let call = Task { try await Abandonable.run(clock: clock) { await hung.work() } }
    try await eventually { hung.started.withLock { $0 } }
    call.cancel()
    await #expect(throws: CancellationError.self) { _ = try await call.value }
    hung.release()
  }
}
