/// How long this node's fenced tasks run without an acknowledged heartbeat, and the longest
/// grace the spawner gives them when it stops them for that: together less than the
/// orchestrator's heartbeat-timeout + lost-after (`fence_after`), so SIGKILL has landed before
/// the orchestrator may give a task to another node.
///
/// The lease counts from when the acknowledged heartbeat was *sent*: the orchestrator heard it
/// later than that, and counts its own deadline from then, so the agent's deadline is always
/// the earlier one — whichever way a partition cuts the link, and however long the ack took.
struct FencingLease: Sendable, Equatable {
  /// Runs out this long after the last acknowledged heartbeat was sent.
  var duration: Duration
  /// SIGTERM to SIGKILL when the lease runs out: the agent's kill grace, shortened when it
  /// does not fit in the orchestrator's timeouts.
  var killGrace: Duration

  /// Room for the spawner noticing the lease ran out (it looks every 100 ms), delivering the
  /// SIGKILL, and the orchestrator's own timer firing a little early.
  static let margin = Duration.milliseconds(300)

  /// A lease of `duration` whose stops give at most `killGrace`.
  init(duration: Duration, killGrace: Duration) {
    self.duration = duration
    self.killGrace = killGrace
  }

  /// The lease for an orchestrator that fences after `fenceAfter`; `nil` when it does not.
  /// - Parameters:
  ///   - fenceAfter: The orchestrator's heartbeat-timeout + lost-after.
  ///   - killGrace: The agent's grace between SIGTERM and SIGKILL.
  init?(fenceAfter: Duration, killGrace: Duration) {
    guard fenceAfter > .zero else { return nil }
    let budget = fenceAfter - Self.margin
    guard budget > .zero else {
      // Timeouts shorter than the margin (tests): stop at half of them, with no grace.
      duration = fenceAfter / 2
      self.killGrace = .zero
      return
    }
    // A third of the budget at most for the grace: a long grace must not leave the lease so
    // short that a heartbeat or two late stops the tasks.
    let grace = min(max(killGrace, .zero), budget / 3)
    duration = budget - grace
    self.killGrace = grace
  }
}
