import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("TaskService over gRPC")
struct TaskServiceTests {
  func submit(
    _ client: InProcessClient,
    _ update: (inout Orchion_V1_TaskSpec) -> Void
  ) async throws -> Orchion_V1_Task {
    var spec = Orchion_V1_TaskSpec.with { $0.command = ["true"] }
    update(&spec)
    return try await client.tasks.submitTask(.with { $0.spec = spec }).task
  }

  @Test("a submitted task is PENDING with defaults applied, and readable by GetTask")
  func submitAndGet() async throws {
    try await withOrchestrator { _, client in
      let task = try await submit(client) { $0.name = "hello" }
      #expect(task.state == .pending)
      #expect(task.id.hasPrefix("t"))
      #expect(task.spec.priority == 50)
      #expect(task.spec.maxAttempts == 1)
      #expect(task.createdAt.seconds > 1_700_000_000)
      let fetched = try await client.tasks.getTask(.with { $0.taskID = task.id }).task
      #expect(fetched == task)
    }
  }

  @Test("scheduling fields round-trip: strategy, constraints, preemptible, retry policy")
  func schedulingFields() async throws {
    try await withOrchestrator { _, client in
      let task = try await submit(client) {
        $0.strategy = "spread"
        $0.constraints = ["gpu in (t4, a100)", "!spot"]
        $0.preemptible = true
        $0.surviveDisconnect = true
        $0.retryExitCodes = [75, 2]
        $0.retryBackoff.seconds = 3
        $0.resources.extended = ["tool/claude": 1]
      }
      #expect(task.spec.strategy == "spread")
      #expect(task.spec.constraints == ["gpu in (a100,t4)", "!spot"])
      #expect(task.spec.preemptible)
      #expect(task.spec.surviveDisconnect)
      #expect(task.spec.retryExitCodes == [2, 75])
      #expect(task.spec.retryBackoff.seconds == 3)
      // A backoff above the default cap raises the cap to it rather than being refused.
      #expect(task.spec.retryBackoffMax.seconds == 300)
      #expect(task.spec.resources.extended == ["tool/claude": 1])
      #expect(task.attempts.isEmpty)
    }
  }

  static func broken(_ update: (inout Orchion_V1_TaskSpec) -> Void) -> Orchion_V1_TaskSpec {
    var spec = Orchion_V1_TaskSpec.with { $0.command = ["true"] }
    update(&spec)
    return spec
  }

  static let invalidCases: [(String, Orchion_V1_TaskSpec)] = [
    ("spec.command", broken { $0.command = [] }),
    ("spec.command", broken { $0.command = [""] }),
    ("spec.command[1]", broken { $0.command = ["a", "b\u{0}"] }),
    ("spec.env", broken { $0.env = ["1BAD": "x"] }),
    ("spec.env", broken { $0.env = ["A": "nul\u{0}"] }),
    ("spec.resources.cpu_millis", broken { $0.resources.cpuMillis = -1 }),
    ("spec.node_selector", broken { $0.nodeSelector = ["bad key": "v"] }),
    ("spec.timeout", broken { $0.timeout.seconds = -5 }),
    ("spec.max_attempts", broken { $0.maxAttempts = 101 }),
    ("spec.priority", broken { $0.priority = 101 }),
    ("spec.name", broken { $0.name = "a\nb" }),
    ("spec.workdir", broken { $0.workdir = String(repeating: "d", count: 5000) }),
    ("spec.strategy", broken { $0.strategy = "fastest" }),
    ("spec.constraints[1]", broken { $0.constraints = ["gpu", "os in linux"] }),
    ("spec.retry_exit_codes", broken { $0.retryExitCodes = [0] }),
    ("spec.retry_backoff", broken { $0.retryBackoff.seconds = -1 }),
    (
      "spec.retry_backoff_max",
      broken {
        $0.retryBackoff.seconds = 10
        $0.retryBackoffMax.seconds = 5
      }
    ),
    ("spec.resources.extended", broken { $0.resources.extended = ["bad name": 1] }),
  ]

  @Test(
    "invalid specs are INVALID_ARGUMENT naming the field, and create nothing",
    arguments: invalidCases
  )
  func invalidSpecs(field: String, spec: Orchion_V1_TaskSpec) async throws {
    try await withOrchestrator { _, client in
      let message = await expectRPCError(.invalidArgument) {
        try await client.tasks.submitTask(.with { $0.spec = spec })
      }
      #expect(message.contains(field), "\(message)")
      let tasks = try await client.tasks.listTasks(.init()).tasks
      #expect(tasks.isEmpty)
    }
  }

  @Test("a request without a spec is INVALID_ARGUMENT")
  func missingSpec() async throws {
    try await withOrchestrator { _, client in
      let message = await expectRPCError(.invalidArgument) {
        try await client.tasks.submitTask(.init())
      }
      #expect(message.contains("spec"))
    }
  }

  @Test("unknown and malformed task IDs: NOT_FOUND and INVALID_ARGUMENT for every RPC")
  func unknownTasks() async throws {
    try await withOrchestrator { _, client in
      let unknown = "t00000000000000000000"
      _ = await expectRPCError(.notFound) {
        try await client.tasks.getTask(.with { $0.taskID = unknown })
      }
      _ = await expectRPCError(.notFound) {
        try await client.tasks.cancelTask(.with { $0.taskID = unknown })
      }
      _ = await expectRPCError(.notFound) {
        try await client.tasks.streamTaskLogs(.with { $0.taskID = unknown }) { response in
          for try await _ in response.messages {}
        }
      }
      let message = await expectRPCError(.invalidArgument) {
        try await client.tasks.getTask(.with { $0.taskID = "nope" })
      }
      #expect(message.contains("task_id"))
      _ = await expectRPCError(.invalidArgument) {
        try await client.tasks.listTasks(.with { $0.pageSize = 5000 })
      }
      _ = await expectRPCError(.invalidArgument) {
        try await client.tasks.listTasks(.with { $0.pageToken = "garbage" })
      }
      _ = await expectRPCError(.invalidArgument) {
        try await client.tasks.listTasks(.with { $0.state = .UNRECOGNIZED(99) })
      }
    }
  }

  @Test("ListTasks pages newest first and filters by state; CancelTask on a pending task")
  func listAndCancel() async throws {
    try await withOrchestrator { _, client in
      var ids: [String] = []
      for index in 0..<7 { ids.append(try await submit(client) { $0.name = "t\(index)" }.id) }
      let cancelled = try await client.tasks.cancelTask(.with { $0.taskID = ids[2] }).task
      #expect(cancelled.state == .cancelled)
      var seen: [String] = []
      var token = ""
      repeat {
        let page = try await client.tasks.listTasks(
          .with {
            $0.pageSize = 3
            $0.pageToken = token
          }
        )
        seen += page.tasks.map(\.id)
        token = page.nextPageToken
      } while !token.isEmpty
      #expect(seen == ids.reversed())
      let onlyCancelled = try await client.tasks.listTasks(.with { $0.state = .cancelled }).tasks
      #expect(onlyCancelled.map(\.id) == [ids[2]])
      // A pending task's logs: empty, and without follow the stream ends at once.
      let chunks = try await client.tasks.streamTaskLogs(.with { $0.taskID = ids[0] }) { response in
        var count = 0
        for try await _ in response.messages { count += 1 }
        return count
      }
      #expect(chunks == 0)
    }
  }
}
