import Foundation
import OrchionClient
import OrchionCore
import OrchionTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A task prints the command line and environment of every process above it, as far as it can
/// read them: the spawner, the agent, and what started the agent.
private let ancestorsScript = """
  p=$PPID
  for i in 1 2 3; do
    [ -r /proc/$p/cmdline ] && tr '\\0' '\\n' < /proc/$p/cmdline
    [ -r /proc/$p/environ ] && tr '\\0' '\\n' < /proc/$p/environ
    p=$(awk '/^PPid:/ { print $2 }' /proc/$p/status)
  done
  echo end of ancestors
  """

@Suite("End to end: what a task can read of the processes above it", .timeLimit(.minutes(3)))
struct TaskIsolationEndToEndTests {
  @Test("no token of the agent is in its or its spawner's /proc cmdline or environ")
  func noTokenAbove() async throws {
    try await Cluster.with { cluster in
      // Given both ways a person might: on the command line and in the environment.
      let agent = try cluster.startAgent("solo", extra: ["--token", testAdminToken])
      try await cluster.waitForActiveNodes(["solo"])
      let run = try await cluster.orchion(["run", "--", "sh", "-c", ancestorsScript])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stdout.contains("end of ancestors"))
      // The spawner's and the agent's entries were read (the agent's name is in them)...
      #expect(run.stdout.contains("agent"), "\(run.stdout)")
      // ...and hold no token.
      #expect(!run.stdout.contains(testAdminToken), "\(run.stdout)")
      // Nor does `ps` show it to other users.
      let commandLine = try #require(FileManager.default.contents(atPath: "/proc/\(agent.pid)/cmdline"))
      #expect(!String(decoding: commandLine, as: UTF8.self).contains(testAdminToken))
      #expect(agent.standardError.contains("visible to every user"), "\(agent.standardError)")
    }
  }

  @Test("`orchion up` runs its agent with a join token: the admin token is nowhere above a task")
  func upAgentHoldsNoAdminToken() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-up-\(UUID().uuidString.prefix(8))").path
    let environment = ["ORCHION_CONFIG": directory + "/config", "ORCHION_TOKEN": ""]
    let up = try ChildProcess(
      BuiltProducts.orchion,
      ["up", "--port", "0", "--data-dir", directory],
      environment: environment
    )
    defer { up.signal(SIGKILL) }
    _ = try await up.waitForOutput(containing: "orchion is up")
    let admin = try #require(PrivateFile.readText(directory + "/admin.token"))
    let run = try ChildProcess(
      BuiltProducts.orchion,
      ["run", "--", "sh", "-c", ancestorsScript],
      environment: environment
    )
    #expect(try await run.waitForExit() == 0, "\(run.standardError)")
    #expect(run.standardOutput.contains("end of ancestors"))
    #expect(!run.standardOutput.contains(admin), "\(run.standardOutput)")
  }

  @Test("--task-user: tasks run as that user and cannot read the agent's files")
  func taskUser() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo", extra: ["--task-user", "nobody"])
      try await cluster.waitForActiveNodes(["solo"])
      let credential = cluster.directory + "/agent-solo/node-credential-solo"
      // Written once its registration was answered, a moment after the node shows ACTIVE.
      try await eventually { FileManager.default.fileExists(atPath: credential) }
      let run = try await cluster.orchion([
        "run", "--", "sh", "-c", "id -u; echo HOME=$HOME; cat \(credential) || echo refused",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
      #expect(run.stdout.hasPrefix("\(nobody)\n"), "\(run.stdout)")
      #expect(run.stdout.contains("refused"), "\(run.stdout)")
      #expect(!run.stdout.contains("HOME=/root"), "\(run.stdout)")
    }
  }

  @Test("--task-user with an unknown user is refused at start")
  func unknownTaskUser() async throws {
    let agent = try ChildProcess(
      BuiltProducts.orchion,
      ["agent", "--server", "127.0.0.1:1", "--task-user", "no-such-user-\(UUID().uuidString.prefix(6))"]
    )
    #expect(try await agent.waitForExit() != 0)
    #expect(agent.standardError.contains("no user named"), "\(agent.standardError)")
  }
}
