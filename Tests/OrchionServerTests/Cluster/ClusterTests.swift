import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionTestSupport
import Testing

@testable import OrchionServer

@Suite("Cluster", .timeLimit(.minutes(1)))
struct ClusterTests {
  @Test("2,000 parallel registrations give exactly 2,000 nodes with distinct generated IDs")
  func parallelRegistrations() async throws {
    let cluster = try ClusterHarness().cluster
    let ids = try await withThrowingTaskGroup(of: NodeID.self) { group in
      for index in 0..<2_000 {
        group.addTask {
          // Half ask for an ID, half let the server assign one.
          let id = index.isMultiple(of: 2) ? try NodeID(validating: "node-\(index)") : nil
          return try cluster.register(NodeRegistration(id: id, address: "10.0.0.\(index % 250)"))
            .node.id
        }
      }
      return try await group.reduce(into: Set<NodeID>()) { $0.insert($1) }
    }
    #expect(ids.count == 2_000)
    #expect(cluster.nodeCount == 2_000)
    #expect(cluster.nodes().count == 2_000)
  }

  @Test("parallel re-registrations of one ID keep exactly one node")
  func parallelReRegistrations() async throws {
    let cluster = try ClusterHarness().cluster
    let id = try NodeID(validating: "same")
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<500 {
        group.addTask { _ = try cluster.register(NodeRegistration(id: id, address: "a\(index)")) }
      }
      try await group.waitForAll()
    }
    #expect(cluster.nodeCount == 1)
  }

  @Test("an invalid registration is refused naming the field, and changes nothing")
  func invalidRegistration() throws {
    let cluster = try ClusterHarness().cluster
    do {
      _ = try cluster.register(NodeRegistration(labels: ["bad key": "v"]))
      Issue.record("accepted a label key with a space")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.field?.hasPrefix("labels") == true, "\(error)")
    }
    #expect(cluster.nodeCount == 0)
  }

  @Test("node changes reach the store in the order they were made")
  func nodeChangesStored() async throws {
    let harness = try ClusterHarness(
      nodes: .init(
        heartbeatTimeout: .seconds(30),
        lostAfter: .seconds(60),
        forgetAfter: .seconds(600)
      )
    )
    let cluster = harness.cluster
    try await harness.withJournal {
      let id = try cluster.register(NodeRegistration()).node.id
      harness.clock.advance(by: .seconds(30))
      #expect(cluster.expireOverdue().map(\.reason) == [.heartbeatTimeout])
      _ = try cluster.heartbeat(id)
      await committed(cluster)
      #expect(try await harness.store.nodes().map(\.status) == [.active])
      _ = try cluster.leave(id)
      harness.clock.advance(by: .seconds(600))
      #expect(cluster.expireOverdue().map(\.reason) == [.forgotten])
      await committed(cluster)
      #expect(try await harness.store.nodes().isEmpty)
      #expect(cluster.nodes().isEmpty)
    }
  }

  @Test("an assignment reaches the agent only after the commit, on the stream current then")
  func assignmentAfterCommit() async throws {
    let harness = try ClusterHarness()
    let cluster = harness.cluster
    try await harness.withJournal {
      let node = try cluster.register(NodeRegistration(id: try NodeID(validating: "n1"))).node.id
      let (old, _) = harness.connect(node)
      let task = try await cluster.submit(TaskSpec(command: ["true"]))
      // A newer stream replaces the first before the pass: the assignment goes to it.
      let (_, messages) = harness.connect(node)
      #expect(old.send(.init()) == false, "the replaced stream is closed")
      cluster.schedulePass()
      var iterator = messages.makeAsyncIterator()
      let message = try #require(await iterator.next())
      guard case .assign(let assign) = message.kind else {
        Issue.record("expected an assignment, got \(message)")
        return
      }
      #expect(assign.taskID == task.id.rawValue)
      #expect(assign.serverAddress == "127.0.0.1:50051")
      // Durable before it was sent: the store has the task assigned.
      let stored = try #require(try await harness.store.loadTasks().first)
      #expect(stored.state == .assigned)
    }
  }

  @Test("an assignment whose stream ended before it was sent goes back in the queue")
  func undeliverableRequeues() async throws {
    let harness = try ClusterHarness()
    let cluster = harness.cluster
    try await harness.withJournal {
      let node = try cluster.register(NodeRegistration(id: try NodeID(validating: "n1"))).node.id
      let (session, _) = harness.connect(node)
      let task = try await cluster.submit(TaskSpec(command: ["true"]))
      // The stream's queue ends, but the cluster has not heard the stream end yet.
      session.close()
      cluster.schedulePass()
      try await eventually { cluster.state(of: task.id) == .pending }
      let record = try cluster.task(task.id)
      #expect(record.message.contains("requeued"), "\(record.message)")
      #expect(record.attempt == 0)
    }
  }

  /// Returns once everything the cluster recorded so far is durable.
  private func committed(_ cluster: OrchionServer.Cluster) async {
    await withCheckedContinuation { continuation in
      cluster.afterCommit { continuation.resume() }
    }
  }
}
