import MCP

/// A session's resource subscriptions: each watches its task and calls `notify` with the URI
/// when it changed, until the task has finished (one last notice), it is unsubscribed, or the
/// session is gone.
actor ResourceSubscriptions {
  /// Subscriptions one session may hold.
  static let maxPerSession = 100

  private var watches: [String: Task<Void, Never>] = [:]
  private let interval: Duration
  private let clock: any ToolClock

  init(clock: any ToolClock, interval: Duration = .seconds(1)) {
    self.clock = clock
    self.interval = interval
  }

  func subscribe(
    _ resource: TaskResourceURI,
    fingerprint: @escaping @Sendable () async throws -> (String, finished: Bool),
    notify: @escaping @Sendable (String) async -> Bool,
    alive: @escaping @Sendable () -> Bool
  ) throws {
    guard watches[resource.uri] == nil else { return }
    guard watches.count < Self.maxPerSession else {
      throw MCPError.invalidParams("at most \(Self.maxPerSession) subscriptions per session")
    }
    let (clock, interval) = (clock, interval)
    watches[resource.uri] = Task {
      var last: String?
      while !Task.isCancelled, alive() {
        guard let (print, finished) = try? await fingerprint() else { return }
        if let last, last != print, await !notify(resource.uri) { return }
        last = print
        if finished { return }
        try? await clock.sleep(for: interval)
      }
    }
  }

  func unsubscribe(_ uri: String) {
    watches.removeValue(forKey: uri)?.cancel()
  }
}
