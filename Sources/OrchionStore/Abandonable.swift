import Synchronization

/// Runs work that may not honour cancellation — a database call on a connection that stopped
/// answering — so that its caller is freed when it is cancelled or when a deadline passes.
///
/// The work runs in a task of its own. The caller returns with the work's result, or with
/// `CancellationError` the moment the caller is cancelled, or with ``DeadlinePassed`` once
/// `limit` has passed — whether or not the work has ended (it is cancelled, and its outcome is
/// then unknown, as after a connection lost during COMMIT). This is what lets an orchestrator
/// that lost its lease exit within its grace even when the store never answers.
enum Abandonable {
  /// The deadline passed before the work answered.
  struct DeadlinePassed: Error {}

  /// - Parameters:
  ///   - limit: How long the work may take; `nil` for as long as the caller waits.
  ///   - clock: What `limit` is measured on (a manual clock in tests).
  static func run<Value: Sendable>(
    giveUpAfter limit: Duration? = nil,
    clock: some Clock<Duration> & Sendable = ContinuousClock(),
    _ work: @escaping @Sendable () async throws -> Value
  ) async throws -> Value {
    let answer = Answer<Value>()
    // The work hands in its own result: no task waits on it just to pass that on.
    let running = Task {
      do {
        answer.give(.success(try await work()))
      } catch {
        answer.give(.failure(error))
      }
    }
    let timer = limit.map { limit in
      Task {
        // Cancelled (and so returning early) once the answer is in.
        guard (try? await clock.sleep(for: limit)) != nil else { return }
        running.cancel()
        answer.give(.failure(DeadlinePassed()))
      }
    }
    defer { timer?.cancel() }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        answer.wait(with: continuation)
      }
    } onCancel: {
      running.cancel()
      answer.give(.failure(CancellationError()))
    }
  }

  /// The caller's continuation, resumed exactly once by whichever comes first: the work's
  /// result, the caller's cancellation, the deadline.
  private final class Answer<Value: Sendable>: Sendable {
    private enum State {
      case idle
      case waiting(CheckedContinuation<Value, any Error>)
      /// Given before the caller started waiting (a quick answer, or cancelled before it began).
      case given(Result<Value, any Error>)
      case done
    }

    private let state = Mutex<State>(.idle)

    /// Parks `continuation`, or resumes it at once when the answer is in already.
    func wait(with continuation: CheckedContinuation<Value, any Error>) {
      let early: Result<Value, any Error>? = state.withLock { state in
        guard case .given(let result) = state else {
          state = .waiting(continuation)
          return nil
        }
        state = .done
        return result
      }
      if let early { continuation.resume(with: early) }
    }

    func give(_ result: Result<Value, any Error>) {
      let waiting: CheckedContinuation<Value, any Error>? = state.withLock { state in
        switch state {
        case .idle:
          state = .given(result)
          return nil
        case .waiting(let continuation):
          state = .done
          return continuation
        case .given, .done:
          return nil
        }
      }
      waiting?.resume(with: result)
    }
  }
}
