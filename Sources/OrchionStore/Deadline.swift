import OrchionCore

/// Bounds how long a database operation may take, so a connection that hangs (a network
/// partition sends no reset) surfaces as `unavailable` instead of stalling its caller — above
/// all the leader lease, which must notice in time that it cannot renew.
enum Deadline {
  /// Runs `body`, cancelling it and throwing `unavailable` if it has not finished within
  /// `limit`.
  static func run<T: Sendable>(
    within limit: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(for: limit)
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let value = first else {
        throw OrchionError.unavailable("\(what): no answer within \(DurationFormat.format(limit))")
      }
      return value
    }
  }
}
