/// Keeps timing-sensitive tests (a 1 s database lease) from running alongside the heaviest
/// ones (20,000 messages through debug-built processes): on two cores they would starve each
/// other past their deadlines. Tests of both kinds run their bodies through
/// ``withQuietPeriod(_:)``; everything else runs alongside as usual.
public actor QuietPeriod {
  public static let shared = QuietPeriod()
  private var busy = false
  private var waiters: [CheckedContinuation<Void, Never>] = []

  func acquire() async {
    if !busy {
      busy = true
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  func release() {
    if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
  }
}

/// Runs `body` while no other `withQuietPeriod` body runs.
public func withQuietPeriod<Result: Sendable>(
  _ body: () async throws -> Result
) async throws -> Result {
  await QuietPeriod.shared.acquire()
  do {
    let result = try await body()
    await QuietPeriod.shared.release()
    return result
  } catch {
    await QuietPeriod.shared.release()
    throw error
  }
}
