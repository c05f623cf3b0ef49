import Foundation
import OrchionCore
import OrchionTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite(
  "orchion run, tasks, logs, cancel, up (the real binary)",
  .serialized,
  .timeLimit(.minutes(3))
)
struct RunCommandTests {
  @Test("`orchion run` streams output and exits with the task's exit code")
  func runExitCode() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      let run = try ChildProcess(
        BuiltProducts.orchion,
        [
          "run", "--server", "\(cluster.address)", "--env", "WHO=world", "--", "sh", "-c",
          "echo hello $WHO; echo oops >&2; exit 5",
        ],
        environment: cluster.environment
      )
      #expect(try await run.waitForExit() == 5)
      #expect(run.standardOutput == "hello world\n")
      #expect(run.standardError.contains("oops"))

      let detached = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--server", "\(cluster.address)", "--detach", "--", "true"],
        environment: cluster.environment
      )
      #expect(try await detached.waitForExit() == 0)
      let id = detached.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(id.hasPrefix("t"))

      let timedOut = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--server", "\(cluster.address)", "--timeout", "1s", "--", "sleep", "30"],
        environment: cluster.environment
      )
      #expect(try await timedOut.waitForExit() == 124)

      let tasks = try ChildProcess(
        BuiltProducts.orchion,
        ["tasks", "--server", "\(cluster.address)"],
        environment: cluster.environment
      )
      #expect(try await tasks.waitForExit() == 0)
      #expect(tasks.standardOutput.contains(id))
      #expect(tasks.standardOutput.contains("SUCCEEDED"))

      let logs = try ChildProcess(
        BuiltProducts.orchion,
        ["logs", "--server", "\(cluster.address)", id],
        environment: cluster.environment
      )
      #expect(try await logs.waitForExit() == 0)

      let unknown = try ChildProcess(
        BuiltProducts.orchion,
        ["task", "--server", "\(cluster.address)", "t00000000000000000000"],
        environment: cluster.environment
      )
      #expect(try await unknown.waitForExit() == 1)
      #expect(unknown.standardError.contains("notFound"))
    }
  }

  @Test("`orchion up` then `orchion run` works with no other setup; SIGTERM stops it with exit 0")
  func upAndRun() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-up-\(UUID().uuidString.prefix(8))").path
    let environment = ["ORCHION_CONFIG": directory + "/config"]
    let up = try ChildProcess(
      BuiltProducts.orchion,
      ["up", "--port", "0", "--data-dir", directory],
      environment: environment
    )
    _ = try await up.waitForOutput(containing: "orchion is up")
    // No --server: the CLI finds the cluster through the client config `up` wrote.
    var status: Int32 = -1
    var run: ChildProcess?
    try await eventually(timeout: .seconds(30)) {
      let attempt = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--", "echo", "hi"],
        environment: environment
      )
      status = try await attempt.waitForExit()
      run = attempt
      return status == 0
    }
    #expect(run?.standardOutput == "hi\n")
    // It says where the dashboard is, and the dashboard answers there.
    let dashboard = HTTPTestClient(base: try await Cluster.dashboardURL(of: up))
    #expect(try await dashboard.send("GET", "/healthz").status == 200)
    up.signal(SIGTERM)
    #expect(try await up.waitForExit(timeout: .seconds(30)) == 0, "\(up.standardError)")
  }
}

@Suite("orchion run and Ctrl-C", .timeLimit(.minutes(2)))
struct RunInterruptTests {
  @Test("SIGINT to an attached `orchion run` cancels the task: its processes end, exit 130")
  func interruptCancels() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      let marker = "\(Int.random(in: 1000...9999)).\(Int.random(in: 100_000...999_999))"
      let run = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--server", "\(cluster.address)", "--", "sleep", "1\(marker)"],
        environment: cluster.environment
      )
      try await eventually { !processes(containing: marker).filter { $0 != run.pid }.isEmpty }
      run.signal(SIGINT)
      #expect(try await run.waitForExit() == 130, "\(run.standardError)")
      // 130 is also what dying of SIGINT gives: the message and the ended processes are what
      // show the task was cancelled rather than orphaned.
      #expect(run.standardError.contains("cancelling task"))
      try await eventually(timeout: .seconds(10)) {
        processes(containing: "sleep 1\(marker)").isEmpty
      }
    }
  }
}
