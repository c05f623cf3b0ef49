import Crypto
import Foundation
import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `SubmitTaskGroup`, `GetTaskGroup`, `CancelTaskGroup`, and the idempotency keys of
/// `SubmitTask` and `SubmitTaskGroup`.
extension TaskServiceHandler {
  func submitTaskGroup(
    request: Orchion_V1_SubmitTaskGroupRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_SubmitTaskGroupResponse {
    guard request.hasSpec else { throw OrchionError.invalidArgument(field: "spec", "spec: required") }
    let members = try Self.members(of: request)
    // Each member's spec is checked as SubmitTask checks one, so a refusal names the field.
    var specs: [(spec: TaskSpec, item: String?)] = []
    specs.reserveCapacity(members.count)
    for (index, member) in members.enumerated() {
      do {
        specs.append((try TaskSpec(validating: member.spec), member.item))
      } catch {
        throw OrchionError.invalidArgument(
          field: error.field,
          members.count > 1 ? "member \(index): \(error.message)" : error.message
        )
      }
    }
    if let first = specs.first?.spec { try checkSubmittable(first) }
    let parent = try callingTask()
    if let parent, let first = specs.first?.spec { try checkSecretsInherited(first, from: parent) }
    let tasks = try await cluster.submitGroup(
      specs,
      spread: request.spread,
      parent: parent,
      idempotency: try Self.idempotency(request.idempotencyKey, of: request)
    )
    return .with { $0.group = groupMessage(tasks) }
  }

  func getTaskGroup(
    request: Orchion_V1_GetTaskGroupRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_GetTaskGroupResponse {
    let group = try GroupID(validating: request.groupID)
    guard (0...Self.maxMembersPerPage).contains(Int(request.pageSize)) else {
      throw OrchionError.invalidArgument(field: "page_size", "page_size: must be 0-\(Self.maxMembersPerPage)")
    }
    guard request.fromIndex >= 0 else {
      throw OrchionError.invalidArgument(field: "from_index", "from_index: must not be negative")
    }
    let state = try TaskState.from(request.state, field: "state")
    // Groups are the leader's memory; a follower sends the caller there.
    guard leadership.isLeader else { throw leadership.notLeaderError() }
    let members = try cluster.members(of: group)
    if let first = members.first { try checkVisibleToCaller(first) }
    let page = GroupPage(
      countsOnly: request.countsOnly,
      from: request.fromIndex,
      size: request.pageSize == 0 ? Self.maxMembersPerPage : Int(request.pageSize),
      state: state
    )
    return .with { $0.group = groupMessage(members, page: page) }
  }

  /// Members per page of a group: the largest group's members with their items (4 KiB each)
  /// would not fit in one message.
  static let maxMembersPerPage = 1_000

  /// Which members a group message lists.
  struct GroupPage {
    var countsOnly = false
    var from: Int32 = 0
    var size = TaskServiceHandler.maxMembersPerPage
    var state: TaskState?
  }

  func cancelTaskGroup(
    request: Orchion_V1_CancelTaskGroupRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_CancelTaskGroupResponse {
    let group = try GroupID(validating: request.groupID)
    if try callingTask() != nil, let first = try cluster.members(of: group).first {
      try checkVisibleToCaller(first)
    }
    let members = try await cluster.cancelGroup(group)
    return .with { $0.group = groupMessage(members) }
  }

  /// What every submission is checked for beyond its spec: an agent task names no command,
  /// and every secret it names exists.
  func checkSubmittable(_ spec: TaskSpec) throws {
    if spec.agent != nil, !spec.command.isEmpty {
      throw OrchionError.invalidArgument(
        field: "spec.command",
        "spec.command: must be empty for an agent task (Orchion builds it from spec.agent)"
      )
    }
    for (variable, name) in spec.secretEnvironment.sorted(by: { $0.key < $1.key })
    where !secrets.contains(name) {
      throw OrchionError.failedPrecondition(
        "spec.secret_env[\(TextRules.quoted(variable))]: no secret is named '\(name)' (orchion secret set \(name))"
      )
    }
  }

  /// The group as the API shows it: counted by state, with the page of members asked for.
  func groupMessage(_ members: [TaskRecord], page: GroupPage = GroupPage()) -> Orchion_V1_TaskGroup {
    let now = cluster.clock.now
    return .with { group in
      group.id = members.first?.membership?.group.rawValue ?? ""
      group.size = Int32(members.count)
      group.spread = members.first?.membership?.spread ?? false
      if let first = members.first { group.createdAt = .init(first.createdAt) }
      var listed: [TaskRecord] = []
      for task in members {
        switch task.state {
        case .pending: group.pending += 1
        case .assigned, .running: group.running += 1
        case .succeeded: group.succeeded += 1
        case .failed: group.failed += 1
        case .cancelled: group.cancelled += 1
        }
        guard !page.countsOnly, (task.membership?.index ?? 0) >= page.from,
          page.state.map({ $0 == task.state }) ?? true
        else { continue }
        if listed.count == page.size {
          // One more that would be listed: the page ends before it.
          if group.nextIndex == 0 { group.nextIndex = task.membership?.index ?? 0 }
          continue
        }
        listed.append(task)
      }
      group.members = listed.map { task in
        .with { member in
          member.index = task.membership?.index ?? 0
          member.taskID = task.id.rawValue
          member.state = .init(task.state)
          member.nodeID = task.nodeID?.rawValue ?? ""
          if let exitCode = task.exitCode { member.exitCode = exitCode }
          if let started = task.attempts.first?.startedAt {
            member.duration = .init(started.duration(to: task.finishedAt ?? now))
          }
          member.item = task.membership?.item ?? ""
          member.message = task.message
          if let termination = task.termination { member.termination = .init(termination) }
        }
      }
    }
  }

  /// One member's spec (the template with its index, count and item) per copy or item.
  static func members(of request: Orchion_V1_SubmitTaskGroupRequest) throws
    -> [(spec: Orchion_V1_TaskSpec, item: String?)]
  {
    let maximum = TaskGroupLimits.maxMembers
    if request.items.isEmpty {
      guard (1...maximum).contains(Int(request.count)) else {
        throw OrchionError.invalidArgument(
          field: "count",
          "count: must be 1-\(maximum) (or give items), not \(request.count)"
        )
      }
    } else {
      guard request.count == 0 || Int(request.count) == request.items.count else {
        throw OrchionError.invalidArgument(field: "count", "count: leave it 0 with items, or give as many as items")
      }
      guard request.items.count <= maximum else {
        throw OrchionError.invalidArgument(field: "items", "items: at most \(maximum), not \(request.items.count)")
      }
      for (index, item) in request.items.enumerated() {
        guard !item.isEmpty, item.utf8.count <= TaskGroupLimits.maxItemBytes, !item.utf8.contains(0) else {
          throw OrchionError.invalidArgument(
            field: "items",
            "items[\(index)]: must be 1-\(TaskGroupLimits.maxItemBytes) bytes, without NUL"
          )
        }
      }
    }
    let size = request.items.isEmpty ? Int(request.count) : request.items.count
    // The group's ID is known once its first member is: a placeholder of its length keeps
    // the spec's size limits honest.
    let placeholder = "g" + String(repeating: "0", count: 20)
    return (0..<size).map { index in
      var spec = request.spec
      let item = request.items.isEmpty ? nil : request.items[index]
      spec.env["ORCHION_INDEX"] = "\(index)"
      spec.env["ORCHION_COUNT"] = "\(size)"
      spec.env["ORCHION_GROUP_ID"] = placeholder
      if let item {
        spec.env["ORCHION_ITEM"] = item
        spec.command = spec.command.map { $0.replacingOccurrences(of: "{}", with: item) }
      }
      return (spec, item)
    }
  }

  /// The key and the SHA-256 of the request it names (deterministically encoded, so the same
  /// request always has the same digest); `nil` without a key.
  static func idempotency<Request: SwiftProtobuf.Message>(_ key: String, of request: Request) throws
    -> IdempotencyKey?
  {
    guard !key.isEmpty else { return nil }
    try IdempotencyKey.validate(key)
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    let bytes: [UInt8] = try request.serializedBytes(options: options)
    return IdempotencyKey(key: key, requestDigest: Array(SHA256.hash(data: bytes)))
  }
}
