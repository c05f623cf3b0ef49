import OrchionCore

/// Bounds how long a database operation may take, so a connection that hangs (a network
/// partition sends no reset) surfaces as `storeUnavailable` instead of stalling its caller —
/// above all the leader lease, which must notice in time that it cannot renew.
enum Deadline {
  /// Runs `body`, giving up on it and throwing `storeUnavailable` if it has not finished within
  /// `limit` — even if it ignores the cancellation it is then sent.
  static func run<T: Sendable>(
    within limit: Duration,
    _ what: String,
    clock: some Clock<Duration> & Sendable = ContinuousClock(),
    _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    do {
      return try await Abandonable.run(giveUpAfter: limit, clock: clock, body)
    } catch is Abandonable.DeadlinePassed {
      throw OrchionError.storeUnavailable(
        "\(what): no answer within \(DurationFormat.format(limit))"
      )
    }
  }
}
