import Foundation
import OrchionTestSupport
import Testing

@testable import OrchionAgent

#if canImport(Glibc)
  import Glibc
#endif

/// The spawner's side of fencing, with real processes: a fenced task stops on its own when
/// the lease runs out, even though nothing tells it to; a task that opted out does not.
@Suite("Fencing lease in the spawner", .serialized)
struct ProcessLauncherLeaseTests {
  func outcome(of process: LaunchedProcess) async -> ProcessOutcome {
    await process.finish().outcome
  }

  func launch(fenced: Bool) throws -> LaunchedProcess {
    try ProcessLauncher.launch(
      executable: "/bin/sleep",
      arguments: ["sleep", "3"],
      environment: [:],
      workingDirectory: "",
      fenced: fenced,
      killGrace: .seconds(1)
    )
  }

  @Test(
    "a fenced stop gives a task that ignores SIGTERM at most the lease's grace, not its own"
  )
  func fenceGraceCapped() async throws {
    // The spawner has one lease per process, which a connected agent renews.
    try await withQuietPeriod {
      try ProcessLauncher.prepareLease()
      defer { ProcessLauncher.clearLease() }
      // Its own kill grace is a minute; the lease allows 200 ms between SIGTERM and SIGKILL.
      let lease = FencingLease(duration: .milliseconds(300), killGrace: .milliseconds(200))
      ProcessLauncher.renewLease(lease, from: ProcessLauncher.monotonicNanoseconds())
      let started = ContinuousClock.now
      let stubborn = try ProcessLauncher.launch(
        executable: "/bin/sh",
        arguments: ["sh", "-c", "trap '' TERM; sleep 120 & wait; sleep 120"],
        environment: ["PATH": "/usr/bin:/bin"],
        workingDirectory: "",
        fenced: true,
        killGrace: .seconds(60)
      )
      #expect(await outcome(of: stubborn) == .fenced)
      // Ended by SIGKILL long before its own minute of grace was up.
      #expect(ContinuousClock.now - started < .seconds(30))
    }
  }

  @Test("a renewal never moves the lease earlier")
  func renewalsOnlyExtend() async throws {
    // The spawner has one lease per process, which a connected agent renews.
    try await withQuietPeriod {
      try ProcessLauncher.prepareLease()
      defer { ProcessLauncher.clearLease() }
      let now = ProcessLauncher.monotonicNanoseconds()
      let lease = FencingLease(duration: .seconds(60), killGrace: .zero)
      ProcessLauncher.renewLease(lease, from: now)
      // The acknowledgement of an older heartbeat arrives late: it must not shorten the lease.
      ProcessLauncher.renewLease(lease, from: now - 59_500_000_000)
      #expect(await outcome(of: try launch(fenced: true)) == .exited(code: 0))
    }
  }

  @Test("a fenced task whose lease runs out is stopped by the spawner")
  func fencedStops() async throws {
    // The spawner has one lease per process, which a connected agent renews.
    try await withQuietPeriod {
      try ProcessLauncher.prepareLease()
      ProcessLauncher.renewLease(for: .milliseconds(300))
      defer { ProcessLauncher.clearLease() }
      // `sleep 3` would exit 0; `.fenced` says the spawner stopped it when the lease ran out.
      #expect(await outcome(of: try launch(fenced: true)) == .fenced)
    }
  }

  @Test("a task that opted out runs to its end; so does any task while the lease is renewed")
  func survivors() async throws {
    // The spawner has one lease per process, which a connected agent renews.
    try await withQuietPeriod {
      try ProcessLauncher.prepareLease()
      ProcessLauncher.renewLease(for: .milliseconds(300))
      defer { ProcessLauncher.clearLease() }
      let survivor = try launch(fenced: false)
      #expect(await outcome(of: survivor) == .exited(code: 0))

      ProcessLauncher.renewLease(for: .seconds(60))
      #expect(await outcome(of: try launch(fenced: true)) == .exited(code: 0))
    }
  }
}
