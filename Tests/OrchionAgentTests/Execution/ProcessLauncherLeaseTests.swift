import Foundation
import Testing

@testable import OrchionAgent

#if canImport(Glibc)
  import Glibc
#endif

/// The spawner's side of fencing, with real processes: a fenced task stops on its own when
/// the lease runs out, even though nothing tells it to; a task that opted out does not.
@Suite("Fencing lease", .serialized)
struct FencingLeaseTests {
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

  @Test("a fenced task whose lease runs out is stopped by the spawner")
  func fencedStops() async throws {
    try ProcessLauncher.prepareLease()
    ProcessLauncher.renewLease(for: .milliseconds(300))
    defer { ProcessLauncher.clearLease() }
    // `sleep 3` would exit 0; `.fenced` says the spawner stopped it when the lease ran out.
    #expect(await outcome(of: try launch(fenced: true)) == .fenced)
  }

  @Test("a task that opted out runs to its end; so does any task while the lease is renewed")
  func survivors() async throws {
    try ProcessLauncher.prepareLease()
    ProcessLauncher.renewLease(for: .milliseconds(300))
    defer { ProcessLauncher.clearLease() }
    let survivor = try launch(fenced: false)
    #expect(await outcome(of: survivor) == .exited(code: 0))

    ProcessLauncher.renewLease(for: .seconds(60))
    #expect(await outcome(of: try launch(fenced: true)) == .exited(code: 0))
  }
}
