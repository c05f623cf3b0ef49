import Foundation
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Each attempt in its own directory on its node: real agent, real processes.
@Suite("End to end: workspaces", .serialized, .timeLimit(.minutes(2)))
struct WorkspaceEndToEndTests {
  @Test("two tasks at once on one node each work in their own workspace, kept after they end")
  func ownWorkspaces() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let gate = cluster.directory + "/gate"
        // Both write into their working directory, wait until both have, then list it.
        let script = """
          echo "$ORCHION_TASK_ID" > mine; [ "$(pwd)" = "$ORCHION_WORKSPACE" ] || exit 9
          while [ ! -e \(gate) ]; do sleep 0.05; done; ls -A
          """
        let first = try await client.submit(["sh", "-c", script])
        let second = try await client.submit(["sh", "-c", script])
        _ = try await client.waitFor(first.id, state: .running)
        _ = try await client.waitFor(second.id, state: .running)
        _ = FileManager.default.createFile(atPath: gate, contents: Data())
        for task in [first, second] {
          let done = try await client.waitFor(task.id)
          #expect(done.state == .succeeded, "\(done)")
          #expect(try await client.output(task.id).stdout == "mine\n")
          let workspace = "\(cluster.directory)/agent-solo/workspaces/\(task.id)/\(done.attemptID)"
          #expect(
            try String(contentsOfFile: workspace + "/mine", encoding: .utf8) == task.id + "\n",
            "the workspace is kept after the task"
          )
          let mode = try FileManager.default.attributesOfItem(atPath: workspace)[.posixPermissions]
          #expect(mode as? Int == 0o700)
        }
        // A task that names its working directory runs there instead.
        let named = try await client.submit(["pwd"], workdir: cluster.directory)
        #expect(try await client.waitFor(named.id).state == .succeeded)
        #expect(try await client.output(named.id).stdout == cluster.directory + "\n")
      }
    }
  }
}
