import OrchionCore

/// Polls `condition` until it holds, for things that happen in another process or on a real
/// network where no clock can be advanced. Fails after `timeout` of real time.
public func eventually(
  timeout: Duration = .seconds(10),
  interval: Duration = .milliseconds(20),
  _ condition: () async throws -> Bool
) async throws {
  let deadline = ContinuousClock.now.advanced(by: timeout)
  while try await !condition() {
    guard ContinuousClock.now < deadline else {
      throw OrchionError(code: .internalError, message: "condition not met within \(timeout)")
    }
    try await Task.sleep(for: interval)
  }
}
