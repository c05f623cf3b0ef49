import Synchronization

/// Serving status of each service this process offers, for `grpc.health.v1.Health`.
///
/// The empty service name stands for the whole server. Watchers are told every change; when the
/// process shuts down the board turns everything `notServing`, tells the watchers, and ends their
/// streams so graceful shutdown is not held up by long-lived `Watch` calls.
public final class HealthStatusBoard: Sendable {
  /// Serving status as the health protocol defines it.
  public enum Status: Hashable, Sendable {
    case serving, notServing, serviceUnknown
  }

  private struct State {
    var statuses: [String: Status]
    var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
    var nextWatcherID = 0
    var closed = false
  }

  private let state: Mutex<State>

  /// Longest unknown service name a watch is kept open for.
  public static let maxServiceNameBytes = 256
  /// Most watches of unknown services kept open at once.
  public static let maxUnknownWatchers = 256

  /// Creates a board on which the given services are serving.
  /// - Parameter services: Fully qualified service names, e.g. `orchion.v1.NodeService`.
  public init(serving services: [String]) {
    var statuses = Dictionary(uniqueKeysWithValues: services.map { ($0, Status.serving) })
    statuses[""] = .serving
    state = Mutex(State(statuses: statuses))
  }

  /// The status of `service`, or `nil` when the service is not known here.
  public func status(of service: String) -> Status? {
    state.withLock { $0.statuses[service] }
  }

  /// Sets the status of `service` and tells its watchers.
  public func set(_ status: Status, for service: String) {
    let continuations = state.withLock { state in
      state.statuses[service] = status
      return state.watchers.values.filter { $0.service == service }.map(\.continuation)
    }
    for continuation in continuations { continuation.yield(status) }
  }

  /// Turns every service `notServing`, tells the watchers, and ends their streams.
  public func shutDown() {
    let watchers = state.withLock { state in
      for key in state.statuses.keys { state.statuses[key] = .notServing }
      state.closed = true
      defer { state.watchers.removeAll() }
      return Array(state.watchers.values)
    }
    for watcher in watchers {
      watcher.continuation.yield(.notServing)
      watcher.continuation.finish()
    }
  }

  /// A stream of the status of `service`: the current one first, then every change.
  ///
  /// The stream ends when the board shuts down; the caller ends it early with `finish`.
  func watch(_ service: String) -> (stream: AsyncStream<Status>, finish: @Sendable () -> Void) {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Status.self,
      bufferingPolicy: .bufferingNewest(1)
    )
    let id: Int? = state.withLock { state in
      let status = state.statuses[service]
      continuation.yield(status ?? .serviceUnknown)
      guard !state.closed else { return nil }
      if status == nil {
        // Watch is unauthenticated: a caller must not make the server hold names of its
        // choosing. An unknown one is watched (as the health protocol asks) only while short
        // and few; else it is answered and the stream ends.
        let watchingUnknown = state.watchers.values.count { state.statuses[$0.service] == nil }
        guard service.utf8.count <= Self.maxServiceNameBytes,
          watchingUnknown < Self.maxUnknownWatchers
        else { return nil }
      }
      let id = state.nextWatcherID
      state.nextWatcherID += 1
      state.watchers[id] = (service, continuation)
      return id
    }
    guard let id else {
      continuation.finish()
      return (stream, {})
    }
    let finish: @Sendable () -> Void = { [weak self] in
      self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) }
      continuation.finish()
    }
    continuation.onTermination = { _ in finish() }
    return (stream, finish)
  }
}
