import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("Task groups and idempotent submission over gRPC")
struct TaskGroupTests {
  static let spec = Orchion_V1_TaskSpec.with { $0.command = ["echo", "{}"] }

  @Test("count copies: one group, indexes 0…N-1, ORCHION_INDEX, ORCHION_COUNT and ORCHION_GROUP_ID set")
  func count() async throws {
    try await withOrchestrator { _, client in
      let group = try await client.tasks.submitTaskGroup(
        .with {
          $0.spec = Self.spec
          $0.count = 5
        }
      ).group
      #expect(group.id.hasPrefix("g") && group.id.count == 21)
      #expect(group.size == 5 && group.pending == 5)
      #expect(group.members.map(\.index) == [0, 1, 2, 3, 4])
      for member in group.members {
        let task = try await client.tasks.getTask(.with { $0.taskID = member.taskID }).task
        #expect(task.groupID == group.id)
        #expect(task.groupIndex == member.index)
        #expect(task.spec.env["ORCHION_INDEX"] == "\(member.index)")
        #expect(task.spec.env["ORCHION_COUNT"] == "5")
        #expect(task.spec.env["ORCHION_GROUP_ID"] == group.id)
        #expect(task.spec.command == ["echo", "{}"])
      }
      let fetched = try await client.tasks.getTaskGroup(.with { $0.groupID = group.id }).group
      #expect(fetched == group)
    }
  }

  @Test("items: each member gets its item as ORCHION_ITEM and in place of {} in the command, intact")
  func items() async throws {
    try await withOrchestrator { _, client in
      let items = ["plain", "with spaces", "it's \"quoted\"", "$HOME; rm -rf /", "{}"]
      let group = try await client.tasks.submitTaskGroup(
        .with {
          $0.spec = Self.spec
          $0.items = items
        }
      ).group
      #expect(group.members.map(\.item) == items)
      for (member, item) in zip(group.members, items) {
        let task = try await client.tasks.getTask(.with { $0.taskID = member.taskID }).task
        #expect(task.spec.env["ORCHION_ITEM"] == item)
        #expect(task.spec.command == ["echo", item])
      }
    }
  }

  @Test("a bad group is refused naming the field, and nothing is queued")
  func refusals() async throws {
    try await withOrchestrator { _, client in
      let cases: [(Orchion_V1_SubmitTaskGroupRequest, String)] = [
        (.with { $0.spec = Self.spec }, "count: must be 1-10000 (or give items), not 0"),
        (.with { $0.spec = Self.spec; $0.count = 10_001 }, "count: must be 1-10000 (or give items), not 10001"),
        (.with { $0.spec = Self.spec; $0.items = ["a", ""] }, "items[1]: must be 1-4096 bytes, without NUL"),
        (.with { $0.spec = Self.spec; $0.items = ["a\u{0}b"] }, "items[0]: must be 1-4096 bytes, without NUL"),
        (.with { $0.spec = Self.spec; $0.items = ["a", "b"]; $0.count = 3 }, "count: leave it 0 with items, or give as many as items"),
        (.with { $0.count = 2 }, "spec: required"),
        (.with { $0.spec = .with { $0.command = ["true"]; $0.env = ["bad-name": "x"] }; $0.count = 2 }, "member 0: spec.env"),
        (.with { $0.spec = Self.spec; $0.count = 2; $0.idempotencyKey = String(repeating: "k", count: 129) }, "idempotency_key: at most 128 bytes"),
      ]
      for (request, expected) in cases {
        let message = await expectRPCError(.invalidArgument) {
          try await client.tasks.submitTaskGroup(request)
        }
        #expect(message.hasPrefix(expected), "\(message)")
      }
      let listed = try await client.tasks.listTasks(.init()).tasks
      #expect(listed.isEmpty)
    }
  }

  @Test("the same idempotency key with the same request is the same task or group; with another, ALREADY_EXISTS")
  func idempotency() async throws {
    try await withOrchestrator { _, client in
      let request = Orchion_V1_SubmitTaskRequest.with {
        $0.spec = .with { $0.command = ["true"]; $0.env = ["A": "1", "B": "2", "C": "3"] }
        $0.idempotencyKey = "deploy-42"
      }
      let first = try await client.tasks.submitTask(request).task
      let again = try await client.tasks.submitTask(request).task
      #expect(again.id == first.id)
      var other = request
      other.spec.command = ["false"]
      let refused = await expectRPCError(.alreadyExists) { try await client.tasks.submitTask(other) }
      #expect(refused.contains("idempotency_key 'deploy-42': already used for a different request"))

      let group = Orchion_V1_SubmitTaskGroupRequest.with {
        $0.spec = Self.spec
        $0.count = 3
        $0.idempotencyKey = "sweep-7"
      }
      let made = try await client.tasks.submitTaskGroup(group).group
      let remade = try await client.tasks.submitTaskGroup(group).group
      #expect(remade.id == made.id && remade.members.map(\.taskID) == made.members.map(\.taskID))
      var bigger = group
      bigger.count = 4
      _ = await expectRPCError(.alreadyExists) { try await client.tasks.submitTaskGroup(bigger) }
      let all = try await client.tasks.listTasks(.init()).tasks
      #expect(all.count == 4)
    }
  }

  @Test("a big group's members come a page at a time (1,000 by default), by state, or not at all")
  func pages() async throws {
    try await withOrchestrator { _, client in
      let submitted = try await client.tasks.submitTaskGroup(.with { $0.spec = Self.spec; $0.count = 2_500 }).group
      #expect(submitted.size == 2_500 && submitted.members.count == 1_000 && submitted.nextIndex == 1_000)
      let second = try await client.tasks.getTaskGroup(.with { $0.groupID = submitted.id; $0.fromIndex = 1_000 }).group
      #expect(second.members.first?.index == 1_000 && second.members.count == 1_000 && second.nextIndex == 2_000)
      let small = try await client.tasks.getTaskGroup(.with { $0.groupID = submitted.id; $0.pageSize = 7; $0.fromIndex = 2_495 }).group
      #expect(small.members.map(\.index) == [2_495, 2_496, 2_497, 2_498, 2_499] && small.nextIndex == 0)
      let counts = try await client.tasks.getTaskGroup(.with { $0.groupID = submitted.id; $0.countsOnly = true }).group
      #expect(counts.members.isEmpty && counts.pending == 2_500)
      let all = try await client.taskGroup(submitted.id)
      #expect(all.members.map(\.index) == Array(0..<2_500))
      _ = try await client.tasks.cancelTask(.with { $0.taskID = all.members[42].taskID })
      let cancelled = try await client.taskGroup(submitted.id, state: .cancelled)
      #expect(cancelled.members.map(\.index) == [42] && cancelled.cancelled == 1)
      for (request, field) in [
        (Orchion_V1_GetTaskGroupRequest.with { $0.groupID = submitted.id; $0.pageSize = 1_001 }, "page_size"),
        (.with { $0.groupID = submitted.id; $0.fromIndex = -1 }, "from_index"),
      ] {
        let message = await expectRPCError(.invalidArgument) { try await client.tasks.getTaskGroup(request) }
        #expect(message.hasPrefix(field), "\(message)")
      }
    }
  }

  @Test("CancelTaskGroup cancels every unfinished member; unknown groups are NOT_FOUND")
  func cancel() async throws {
    try await withOrchestrator { _, client in
      let group = try await client.tasks.submitTaskGroup(.with { $0.spec = Self.spec; $0.count = 4 }).group
      let cancelled = try await client.tasks.cancelTaskGroup(.with { $0.groupID = group.id }).group
      #expect(cancelled.cancelled == 4 && cancelled.pending == 0)
      #expect(cancelled.members.allSatisfy { $0.state == .cancelled })
      let unknown = await expectRPCError(.notFound) {
        try await client.tasks.getTaskGroup(.with { $0.groupID = "g" + String(repeating: "0", count: 20) })
      }
      #expect(unknown.contains("not found"))
      let malformed = await expectRPCError(.invalidArgument) {
        try await client.tasks.getTaskGroup(.with { $0.groupID = "t0123" })
      }
      #expect(malformed.contains("not a group ID"))
    }
  }
}
