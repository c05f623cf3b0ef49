import Synchronization

/// When each heartbeat of one stream was sent, by its probe number, so an acknowledgement
/// renews the fencing lease from the moment the acknowledged heartbeat left (``FencingLease``).
final class HeartbeatProbes: Sendable {
  private struct State {
    var next: UInt64 = 1
    /// Probes not acknowledged yet, oldest first, with their send times (monotonic ns).
    var sent: [(probe: UInt64, sentAt: Int64)] = []
  }

  /// Heartbeats remembered while unacknowledged; older ones are forgotten (an orchestrator that
  /// acknowledges none of 64 heartbeats has long stopped counting this node as alive).
  static let capacity = 64

  private let state = Mutex(State())

  /// Numbers a heartbeat about to be sent at `now` (monotonic nanoseconds).
  func next(sentAt now: Int64) -> UInt64 {
    state.withLock { state in
      let probe = state.next
      state.next += 1
      state.sent.append((probe, now))
      if state.sent.count > Self.capacity { state.sent.removeFirst() }
      return probe
    }
  }

  /// The send time of heartbeat `probe`, now acknowledged, and forgets it and every earlier
  /// one; `nil` for a probe this stream did not send or already saw acknowledged.
  func acknowledged(_ probe: UInt64) -> Int64? {
    state.withLock { state in
      guard let index = state.sent.firstIndex(where: { $0.probe == probe }) else { return nil }
      let sentAt = state.sent[index].sentAt
      state.sent.removeFirst(index + 1)
      return sentAt
    }
  }
}
