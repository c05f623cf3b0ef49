import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("End to end: tasks on real agents", .serialized, .timeLimit(.minutes(3)))
struct TaskExecutionTests {
  @Test(
    "200 tasks over two agents all succeed, both agents used (round-robin); env, workdir and both streams arrive"
  )
  func twoHundredTasks() async throws {
    // Submitted one by one, each finishes before the next arrives: binpack (the default) would
    // rightly keep them all on one node, and spread may too (an idle node wins ties by ID).
    // Round-robin takes turns.
    try await Cluster.with(serverArguments: ["--strategy", "round-robin"]) { cluster in
      try cluster.startAgent("alpha")
      try cluster.startAgent("beta")
      try await cluster.waitForActiveNodes(["alpha", "beta"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        var ids: [String] = []
        for index in 0..<200 {
          let task = try await client.submit(
            ["sh", "-c", "echo out-$N; echo err-$N >&2; pwd"],
            env: ["N": "\(index)"],
            workdir: index.isMultiple(of: 2) ? "/tmp" : "/"
          )
          ids.append(task.id)
        }
        var nodes = Set<String>()
        for (index, id) in ids.enumerated() {
          let task = try await client.waitFor(id)
          #expect(task.state == .succeeded, "\(task)")
          #expect(task.exitCode == 0)
          nodes.insert(task.nodeID)
          if index % 40 == 0 {
            let output = try await client.output(id)
            #expect(output.stdout == "out-\(index)\n\(index.isMultiple(of: 2) ? "/tmp" : "/")\n")
            #expect(output.stderr == "err-\(index)\n")
          }
        }
        #expect(nodes == ["alpha", "beta"])
      }
    }
  }

  @Test(
    "exit codes are recorded; a failing command is FAILED with its code; each end is typed (exited, signalled, could not start)"
  )
  func exitCodes() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let failed = try await client.waitFor(try await client.submit(["sh", "-c", "exit 7"]).id)
        #expect(failed.state == .failed)
        #expect(failed.exitCode == 7)
        #expect(failed.message.contains("exited with code 7"))
        #expect(failed.termination == .exited)
        #expect(failed.attempts.map(\.termination) == [.exited])
        // Exit code 124 by its own choice is not a timeout.
        let own124 = try await client.waitFor(try await client.submit(["sh", "-c", "exit 124"]).id)
        #expect(own124.termination == .exited)
        let killed = try await client.waitFor(try await client.submit(["sh", "-c", "kill -9 $$"]).id)
        #expect(killed.exitCode == 137)
        #expect(killed.termination == .signalled)
        let missing = try await client.waitFor(try await client.submit(["no-such-program-x"]).id)
        #expect(missing.state == .failed)
        #expect(missing.message.contains("command not found"))
        #expect(missing.termination == .couldNotStart)
        let badDir = try await client.waitFor(
          try await client.submit(["pwd"], workdir: "/no/such/dir").id
        )
        #expect(badDir.state == .failed)
        #expect(badDir.message.contains("working directory"))
        #expect(badDir.termination == .couldNotStart)
        let succeeded = try await client.waitFor(try await client.submit(["true"]).id)
        #expect(succeeded.termination == .exited)
      }
    }
  }

  @Test(
    "StreamTaskLogs with follow delivers lines as they are printed and ends with the task, as it ended"
  )
  func followLogs() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(
          ["sh", "-c", "echo one; sleep 1; echo two; sleep 1; echo three"])
        let seen = try await client.tasks.streamTaskLogs(
          .with {
            $0.taskID = task.id
            $0.follow = true
          }
        ) { response in
          var lines: [(String, Orchion_V1_TaskState)] = []
          var finals: [Orchion_V1_Task] = []
          var finalWhileRunning = false
          for try await chunk in response.messages {
            if chunk.hasFinalTask { finals.append(chunk.finalTask) }
            let state = try await client.task(task.id).state
            if lines.isEmpty && state == .running {
              // A read that stops at what exists while the task runs carries no final task.
              finalWhileRunning = try await client.tasks.streamTaskLogs(
                .with { $0.taskID = task.id }
              ) { response in
                try await response.messages.contains { $0.hasFinalTask }
              }
            }
            for line in String(decoding: chunk.data, as: UTF8.self).split(separator: "\n") {
              lines.append((String(line), state))
            }
          }
          #expect(!finalWhileRunning)
          // The last message, and only that one, is the task as it ended.
          #expect(finals.count == 1)
          #expect(finals.first?.state == .succeeded)
          #expect(finals.first?.exitCode == 0)
          return lines
        }
        #expect(seen.map(\.0) == ["one", "two", "three"])
        // "one" arrived while the task was still running: live, not after the fact.
        #expect(seen.first?.1 == .running)
        #expect(try await client.task(task.id).state == .succeeded)
      }
    }
  }

  @Test("cancel kills the whole process tree")
  func cancelKillsTree() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let task = try await client.submit(["sh", "-c", "sleep 1\(marker) & sleep 2\(marker)"])
        try await client.waitFor(task.id, state: .running)
        try await eventually { processes(containing: marker).count >= 2 }
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        let cancelled = try await client.waitFor(task.id)
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.termination == .cancelled)
        #expect(cancelled.attempts.map(\.termination) == [.cancelled])
        try await eventually(timeout: .seconds(10)) { processes(containing: marker).isEmpty }
      }
    }
  }

  @Test("a timeout stops the task and fails it saying so")
  func timeout() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        let task = try await client.submit(["sleep", "3\(marker)"], timeout: .seconds(1))
        let finished = try await client.waitFor(task.id)
        #expect(finished.state == .failed)
        #expect(finished.message.contains("timed out after 1s"), "\(finished.message)")
        #expect(finished.termination == .timedOut)
        #expect(finished.attempts.map(\.termination) == [.timedOut])
        #expect(processes(containing: marker).isEmpty)
      }
    }
  }

  @Test(
    "a node_selector nobody matches stays PENDING until a matching agent joins, then runs there"
  )
  func selectorWaitsForNode() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("plain")
      try await cluster.waitForActiveNodes(["plain"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["true"], selector: ["gpu": "a100"])
        // Other work flows meanwhile: the unmatched task does not block it.
        let other = try await client.waitFor(try await client.submit(["true"]).id)
        #expect(other.state == .succeeded)
        #expect(try await client.task(task.id).state == .pending)
        try cluster.startAgent("gpu-box", labels: ["gpu": "a100"])
        let done = try await client.waitFor(task.id)
        #expect(done.state == .succeeded)
        #expect(done.nodeID == "gpu-box")
      }
    }
  }
}
