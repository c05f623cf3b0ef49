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

/// Several orchestrators sharing one real PostgreSQL database, with real agents.
@Suite(
  "End to end: orchestrators sharing PostgreSQL fail over",
  .serialized,
  .timeLimit(.minutes(4))
)
struct HighAvailabilityTests {
  @Test(
    "kill -9 of the leader with 200 tasks queued or running: the other takes over; all 200 succeed, none runs twice"
  )
  func leaderKilled() async throws {
    // Timing-sensitive (elections within seconds): not alongside the heaviest tests.
    try await withQuietPeriod { try await leaderKilledBody() }
  }

  private func leaderKilledBody() async throws {
    try await TestPostgres.withDatabase { store in
      let cluster = try await SharedStoreCluster(store: store, orchestrators: 2)
      defer { cluster.stop() }
      let first = try await cluster.waitForLeader()
      for id in ["left", "right"] { try cluster.startAgent(id) }
      let effects = cluster.directory + "/effects"
      try FileManager.default.createDirectory(atPath: effects, withIntermediateDirectories: true)

      var ids: [String] = []
      try await withOrchionClient(servers: cluster.addresses, token: testAdminToken) { client in
        for index in 0..<200 {
          let task = try await client.submit([
            "sh", "-c", "echo ran >> \(effects)/\(index); sleep 0.\(Int.random(in: 1...5))",
          ])
          ids.append(task.id)
        }
        // Some done, some running, most queued.
        try await eventually(timeout: .seconds(60)) {
          try await client.tasks.listTasks(
            .with {
              $0.state = .succeeded; $0.pageSize = 1000
            }
          )
          .tasks.count >= 20
        }
      }
      cluster.orchestrator(first).signal(SIGKILL)
      _ = try await cluster.orchestrator(first).waitForExit()
      let second = try await cluster.waitForLeader()
      #expect(second != first)

      try await withOrchionClient(servers: cluster.addresses, token: testAdminToken) { client in
        for id in ids {
          let task = try await client.waitFor(id, timeout: .seconds(120))
          #expect(task.state == .succeeded, "\(task)")
        }
      }
      for index in 0..<200 {
        let lines = try String(contentsOfFile: "\(effects)/\(index)", encoding: .utf8)
        #expect(lines == "ran\n", "task \(index) ran \(lines.split(separator: "\n").count) times")
      }
    }
  }

  @Test(
    "SIGSTOP of the leader: another is elected and carries on; after SIGCONT the old one steps down and writes nothing"
  )
  func leaderFrozen() async throws {
    // Timing-sensitive (elections within seconds): not alongside the heaviest tests.
    try await withQuietPeriod { try await leaderFrozenBody() }
  }

  private func leaderFrozenBody() async throws {
    try await TestPostgres.withDatabase { store in
      let cluster = try await SharedStoreCluster(store: store, orchestrators: 2)
      defer { cluster.stop() }
      let first = try await cluster.waitForLeader()
      try cluster.startAgent("worker")
      let effects = cluster.directory + "/effects"
      try FileManager.default.createDirectory(atPath: effects, withIntermediateDirectories: true)
      // Running when the leader freezes: the frozen leader would call its node lost on waking.
      let long = try await withOrchionClient(servers: cluster.addresses, token: testAdminToken) {
        client in
        let task = try await client.submit(["sh", "-c", "echo ran >> \(effects)/long; sleep 8"])
        try await client.waitFor(task.id, state: .running)
        return task.id
      }

      let frozen = cluster.orchestrator(first)
      frozen.signal(SIGSTOP)
      let second = try await cluster.waitForLeader(excluding: first)
      let during = try await withOrchionClient(
        server: cluster.addresses[second],
        token: testAdminToken
      ) { client in
        let task = try await client.waitFor(try await client.submit(["echo", "new leader"]).id)
        #expect(task.state == .succeeded, "\(task)")
        return task.id
      }

      frozen.signal(SIGCONT)
      // It finds its lease taken and exits rather than act on a stale view: cleanly, with the
      // error's status (1) — not through ServiceLifecycle's "Cancellation took longer than
      // allowed" fatal error (a signal), which a service lingering in shutdown once caused.
      let status = try await frozen.waitForExit(timeout: .seconds(40))
      #expect(status == 1, "\(frozen.standardError)")
      #expect(frozen.standardError.contains("lost the leader lease"), "\(frozen.standardError)")
      #expect(!frozen.standardError.contains("Fatal error"), "\(frozen.standardError)")

      try await withOrchionClient(server: cluster.addresses[second], token: testAdminToken) {
        client in
        let task = try await client.waitFor(long, timeout: .seconds(30))
        // One attempt: the woken leader's idea that the node was lost never reached the store.
        #expect(task.state == .succeeded, "\(task)")
        #expect(task.attempts.count == 1, "\(task.attempts)")
        #expect(try await client.task(during).state == .succeeded)
      }
      let lines = try String(contentsOfFile: "\(effects)/long", encoding: .utf8)
      #expect(lines == "ran\n")
    }
  }

  @Test("a submission retried with its idempotency key after the leader is killed -9 is the same task and group on the new leader")
  func idempotentAcrossFailover() async throws {
    try await withQuietPeriod {
      try await TestPostgres.withDatabase { store in
        let cluster = try await SharedStoreCluster(store: store, orchestrators: 2)
        defer { cluster.stop() }
        let first = try await cluster.waitForLeader()
        let task = Orchion_V1_SubmitTaskRequest.with {
          $0.spec = .with { $0.command = ["true"]; $0.nodeID = "nowhere" }
          $0.idempotencyKey = "failover-task"
        }
        let group = Orchion_V1_SubmitTaskGroupRequest.with {
          $0.spec = .with { $0.command = ["true"]; $0.nodeID = "nowhere" }
          $0.count = 20
          $0.idempotencyKey = "failover-group"
        }
        let (before, members) = try await withOrchionClient(servers: cluster.addresses, token: testAdminToken) { client in
          (try await client.tasks.submitTask(task).task.id, try await client.tasks.submitTaskGroup(group).group)
        }
        // The answer "lost": the leader dies right after, and the client retries elsewhere.
        cluster.orchestrator(first).signal(SIGKILL)
        _ = try await cluster.orchestrator(first).waitForExit()
        let second = try await cluster.waitForLeader()
        #expect(second != first)
        try await withOrchionClient(server: cluster.addresses[second], token: testAdminToken) { client in
          let after = try await client.tasks.submitTask(task).task.id
          #expect(after == before)
          let again = try await client.tasks.submitTaskGroup(group).group
          #expect(again.id == members.id && again.members.map(\.taskID) == members.members.map(\.taskID))
          let listed = try await client.tasks.listTasks(.with { $0.pageSize = 1_000 }).tasks
          #expect(listed.count == 21, "\(listed.count) tasks: a retry ran twice")
        }
      }
    }
  }

  @Test("a follower serves reads from the store and refuses writes naming the leader")
  func followerAnswers() async throws {
    try await TestPostgres.withDatabase { store in
      let cluster = try await SharedStoreCluster(store: store, orchestrators: 2)
      defer { cluster.stop() }
      let leader = try await cluster.waitForLeader()
      let follower = 1 - leader
      try cluster.startAgent("any")
      let id = try await withOrchionClient(server: cluster.addresses[leader], token: testAdminToken)
      { client in
        try await client.submit(["true"]).id
      }
      try await withOrchionClient(server: cluster.addresses[follower], token: testAdminToken) {
        client in
        let read = try await client.task(id)
        #expect(read.id == id)
        let error = await #expect(throws: RPCError.self) { try await client.submit(["true"]) }
        #expect(error?.code == .unavailable)
        #expect(
          error?.message.contains("\(cluster.addresses[leader])") == true,
          "\(String(describing: error))"
        )
        let named = error.map { Array($0.metadata[stringValues: "orchion-leader"]) } ?? []
        #expect(named == ["\(cluster.addresses[leader])"])
        // A finished task's output, read from the store, also ends with the task as it ended.
        try await eventually { try await client.task(id).state == .succeeded }
        let last = try await client.tasks.streamTaskLogs(
          .with {
            $0.taskID = id
            $0.follow = true
          }
        ) { response in
          var last: Orchion_V1_LogChunk?
          for try await chunk in response.messages { last = chunk }
          return last
        }
        #expect(last?.finalTask.state == .succeeded)
      }
      // The HTTP probes agree with gRPC health: the leader is ready; a follower is alive, not
      // ready, and its dashboard shows what the store holds.
      let leaderHTTP = HTTPTestClient(
        base: try await Cluster.dashboardURL(of: cluster.orchestrator(leader)))
      let followerHTTP = HTTPTestClient(
        base: try await Cluster.dashboardURL(of: cluster.orchestrator(follower)))
      #expect(try await leaderHTTP.send("GET", "/readyz").status == 200)
      #expect(try await followerHTTP.send("GET", "/readyz").status == 503)
      #expect(try await followerHTTP.send("GET", "/healthz").status == 200)
      let page = try await followerHTTP.send(
        "GET", "/tasks/\(id)", headers: ["Authorization": "Bearer \(testAdminToken)"])
      #expect(page.status == 200)
      #expect(page.body.contains("SUCCEEDED"))
      // The CLI given both addresses finds the leader.
      let both = cluster.addresses.map(\.description).joined(separator: ",")
      let run = try ChildProcess(
        BuiltProducts.orchion,
        ["run", "--server", both, "--", "echo", "via the leader"]
      )
      #expect(try await run.waitForExit() == 0, "\(run.standardError)")
      #expect(run.standardOutput.contains("via the leader"))
    }
  }
}

/// Orchestrators sharing one PostgreSQL store, each on a fixed port, and agents that know them
/// all.
final class SharedStoreCluster: Sendable {
  let directory: String
  let addresses: [ServerAddress]
  private let processes: MutexBox<(orchestrators: [ChildProcess], agents: [ChildProcess])>

  init(store: String, orchestrators count: Int) async throws {
    directory =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-ha-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var addresses: [ServerAddress] = []
    var started: [ChildProcess] = []
    for index in 0..<count {
      // A port found free may be taken by another test before the server binds it: try another.
      for attempt in 1...5 {
        let address = ServerAddress(host: "127.0.0.1", port: try freePort())
        let process = try ChildProcess(
          BuiltProducts.orchion,
          [
            "server", "--store", store, "--port", "\(address.port)", "--http-port", "0",
            "--advertise-address", "\(address)", "--data-dir", "\(directory)/server-\(index)",
            "--leader-lease", "2s", "--heartbeat-timeout", "1s", "--lost-after", "10s",
          ],
          environment: ["ORCHION_CONFIG": directory + "/client-config"]
        )
        do {
          _ = try await process.waitForOutput(containing: "listening on ")
        } catch  where attempt < 5 && process.standardError.contains("already in use") {
          continue
        }
        addresses.append(address)
        started.append(process)
        break
      }
    }
    self.addresses = addresses
    processes = MutexBox((started, []))
  }

  func orchestrator(_ index: Int) -> ChildProcess {
    processes.withLock { $0.orchestrators[index] }
  }

  /// Waits until one orchestrator (not `excluding`) says it leads; returns its index.
  func waitForLeader(excluding: Int? = nil, timeout: Duration = .seconds(30)) async throws -> Int {
    var leader: Int?
    do {
      try await pollForLeader(excluding: excluding, timeout: timeout) { leader = $0 }
    } catch {
      // Say what the orchestrators said: an election that does not happen needs their logs.
      let logs = processes.withLock { $0.orchestrators }.enumerated().map { index, process in
        "orchestrator \(index) (\(addresses[index])):\n\(process.standardError.suffix(3000))"
      }
      throw OrchionError(
        code: .unavailable,
        message: "no leader within \(timeout): \(error)\n" + logs.joined(separator: "\n")
      )
    }
    return try #require(leader)
  }

  private func pollForLeader(
    excluding: Int?,
    timeout: Duration,
    found: (Int) -> Void
  ) async throws {
    try await eventually(timeout: timeout) {
      for (index, address) in addresses.enumerated() where index != excluding {
        if await LeaderFinder.leads(address, token: nil, timeout: .milliseconds(500)) {
          found(index)
          return true
        }
      }
      return false
    }
  }

  func startAgent(_ id: String) throws {
    let agent = try ChildProcess(
      BuiltProducts.orchion,
      [
        "agent", "--server", addresses.map(\.description).joined(separator: ","), "--id", id,
        "--slots", "4", "--data-dir", "\(directory)/agent-\(id)", "--kill-grace", "2s",
      ],
      environment: ["ORCHION_CONFIG": directory + "/client-config"]
    )
    processes.withLock { $0.agents.append(agent) }
  }

  func stop() {
    let (orchestrators, agents) = processes.withLock { ($0.orchestrators, $0.agents) }
    for process in agents + orchestrators {
      process.signal(SIGCONT)
      process.signal(SIGKILL)
    }
  }
}

/// A TCP port nothing listens on right now.
func freePort() throws -> Int {
  let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard descriptor >= 0 else { throw OrchionError.unavailable("socket() failed") }
  defer { close(descriptor) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
      bind(descriptor, socketAddress, length) == 0
        && getsockname(descriptor, socketAddress, &length) == 0
    }
  }
  guard bound else { throw OrchionError.unavailable("cannot find a free port") }
  return Int(UInt16(bigEndian: address.sin_port))
}
