import Foundation
public import OrchionAPI
import SwiftProtobuf

/// Each tool's arguments, checked and turned into what the API takes. Pure: the unit tests
/// cover every rule without a server; the API then applies its own checks (task IDs, specs,
/// secrets) and its refusals come back in its words.
public enum ToolRequests {
  /// run_task: one task, or a group of `count` copies.
  public struct RunTask: Equatable, Sendable {
    public var spec: Orchion_V1_TaskSpec
    /// Copies as one group (each with ORCHION_INDEX, ORCHION_COUNT); `nil`: one task.
    public var count: Int?
  }

  public static func runTask(_ arguments: ToolArguments) throws(ToolArgumentError) -> RunTask {
    try arguments.rejectUnknown([
      "command", "agent", "prompt", "model", "name", "env", "secret_env", "workdir", "selector",
      "node_id", "cpu", "memory_mb", "gpus", "timeout_s", "retries", "priority", "count",
    ])
    let command = try arguments.strings("command", count: 1...1_024)
    let agent = try arguments.string("agent", maxBytes: 64)
    switch (command, agent) {
    case (nil, nil):
      throw ToolArgumentError("command", "give either command (argv, a list of strings) or agent with prompt")
    case (.some, .some):
      throw ToolArgumentError("agent", "give either command or agent, not both")
    default: break
    }
    let prompt = try arguments.string("prompt", maxBytes: ToolLimits.maxTextBytes)
    if agent != nil, prompt?.isEmpty ?? true {
      throw ToolArgumentError("prompt", "required with agent")
    }
    if agent == nil {
      for field in ["prompt", "model"] where arguments.has(field) {
        throw ToolArgumentError(field, "only with agent")
      }
    }
    let count = try arguments.integer("count", in: 1...ToolLimits.maxCount)
    var spec = Orchion_V1_TaskSpec()
    if let command { spec.command = command }
    if let agent {
      spec.agent = .with {
        $0.name = agent
        $0.prompt = prompt ?? ""
      }
      if let model = try arguments.string("model", maxBytes: 256) { spec.agent.model = model }
    }
    if let name = try arguments.string("name", maxBytes: 256) { spec.name = name }
    if let env = try arguments.stringMap("env", maxCount: 256) { spec.env = env }
    if let secrets = try arguments.stringMap("secret_env", maxCount: 64, maxBytes: 256) {
      spec.secretEnv = secrets
    }
    if let workdir = try arguments.string("workdir") { spec.workdir = workdir }
    if let selector = try arguments.stringMap("selector", maxCount: 64, maxBytes: 256) {
      spec.nodeSelector = selector
    }
    if let node = try arguments.string("node_id", maxBytes: 256) { spec.nodeID = node }
    if let cpu = try arguments.number("cpu", in: 0...1_000_000) {
      spec.resources.cpuMillis = Int64((cpu * 1_000).rounded())
    }
    if let memory = try arguments.integer("memory_mb", in: 0...(1 << 30)) {
      spec.resources.memoryBytes = Int64(memory) * 1_048_576
    }
    if let gpus = try arguments.integer("gpus", in: 0...1_024) { spec.resources.gpus = Int32(gpus) }
    if let timeout = try arguments.integer("timeout_s", in: 0...(366 * 86_400)) {
      spec.timeout = .init(seconds: Int64(timeout))
    }
    if let retries = try arguments.integer("retries", in: 0...99) { spec.maxAttempts = Int32(retries + 1) }
    if let priority = try arguments.integer("priority", in: 0...100) { spec.priority = Int32(priority) }
    return RunTask(spec: spec, count: count)
  }

  /// wait_tasks.
  public struct Wait: Equatable, Sendable {
    public var taskIDs: [String]
    public var untilAll: Bool
    public var timeout: Duration

    public init(taskIDs: [String], untilAll: Bool, timeout: Duration) {
      (self.taskIDs, self.untilAll, self.timeout) = (taskIDs, untilAll, timeout)
    }
  }

  public static func waitTasks(_ arguments: ToolArguments) throws(ToolArgumentError) -> Wait {
    try arguments.rejectUnknown(["task_ids", "until", "timeout_s"])
    guard
      let ids = try arguments.strings("task_ids", count: 1...ToolLimits.maxWaitedTasks, maxBytes: 128)
    else { throw ToolArgumentError("task_ids", "required") }
    let until = try arguments.choice("until", ["all", "any"]) ?? "all"
    let seconds =
      try arguments.integer("timeout_s", in: 0...ToolLimits.maxWaitSeconds)
      ?? ToolLimits.defaultWaitSeconds
    var unique: [String] = []
    for id in ids where !unique.contains(id) { unique.append(id) }
    return Wait(taskIDs: unique, untilAll: until == "all", timeout: .seconds(seconds))
  }

  /// get_task, cancel_task, get_result: the one task ID.
  public static func taskID(_ arguments: ToolArguments) throws(ToolArgumentError) -> String {
    try arguments.rejectUnknown(["task_id"])
    return try arguments.requiredString("task_id", maxBytes: 128)
  }

  /// get_logs.
  public struct Logs: Equatable, Sendable {
    public var taskID: String
    public var offset: Int
    public var maxBytes: Int

    public init(taskID: String, offset: Int, maxBytes: Int) {
      (self.taskID, self.offset, self.maxBytes) = (taskID, offset, maxBytes)
    }
  }

  public static func getLogs(_ arguments: ToolArguments) throws(ToolArgumentError) -> Logs {
    try arguments.rejectUnknown(["task_id", "cursor", "max_bytes"])
    let id = try arguments.requiredString("task_id", maxBytes: 128)
    let cursor = try arguments.string("cursor", maxBytes: 32) ?? ""
    let offset: Int
    if cursor.isEmpty {
      offset = 0
    } else {
      guard let parsed = LogCursor.offset(cursor) else {
        throw ToolArgumentError("cursor", "not a cursor get_logs returned")
      }
      offset = parsed
    }
    let maxBytes =
      try arguments.integer("max_bytes", in: 1...ToolLimits.maxLogPageBytes)
      ?? ToolLimits.defaultLogPageBytes
    return Logs(taskID: id, offset: offset, maxBytes: maxBytes)
  }

  /// send_message.
  public static func sendMessage(_ arguments: ToolArguments) throws(ToolArgumentError)
    -> Orchion_V1_SendRequest
  {
    try arguments.rejectUnknown(["to", "payload", "headers", "ttl_s"])
    let to = try arguments.requiredString("to", maxBytes: 512)
    guard let payload = try arguments.string("payload", maxBytes: ToolLimits.maxTextBytes) else {
      throw ToolArgumentError("payload", "required")
    }
    let headers = try arguments.stringMap("headers", maxCount: 64, maxBytes: 4_096) ?? [:]
    let ttl = try arguments.integer("ttl_s", in: 1...(30 * 86_400))
    return .with {
      $0.to = to
      $0.payload = Data(payload.utf8)
      $0.headers = headers
      if let ttl { $0.ttl = .init(seconds: Int64(ttl)) }
    }
  }

  /// receive_messages.
  public struct Receive: Equatable, Sendable {
    public var address: String
    public var consumer: String
    public var maxMessages: Int
    public var timeout: Duration

    public init(address: String, consumer: String, maxMessages: Int, timeout: Duration) {
      (self.address, self.consumer, self.maxMessages, self.timeout) = (address, consumer, maxMessages, timeout)
    }
  }

  public static func receiveMessages(_ arguments: ToolArguments) throws(ToolArgumentError)
    -> Receive
  {
    try arguments.rejectUnknown(["address", "consumer", "max_messages", "timeout_s"])
    return Receive(
      address: try arguments.requiredString("address", maxBytes: 512),
      consumer: try arguments.string("consumer", maxBytes: 128) ?? "",
      maxMessages: try arguments.integer("max_messages", in: 1...ToolLimits.maxReceivedMessages) ?? 10,
      timeout: .seconds(try arguments.integer("timeout_s", in: 0...ToolLimits.maxWaitSeconds) ?? 5)
    )
  }

  /// list_nodes: the status filter.
  public static func listNodes(_ arguments: ToolArguments) throws(ToolArgumentError)
    -> Orchion_V1_NodeStatus
  {
    try arguments.rejectUnknown(["status"])
    switch try arguments.choice("status", ["active", "inactive", "disconnected"]) {
    case "active": return .active
    case "inactive": return .inactive
    case "disconnected": return .disconnected
    default: return .unspecified
    }
  }
}

/// get_logs' cursor: the byte offset in the task's output, written `b<offset>` so it reads as
/// opaque and a later format can differ.
public enum LogCursor {
  public static func make(_ offset: Int) -> String { "b\(offset)" }

  public static func offset(_ cursor: String) -> Int? {
    guard cursor.first == "b", let offset = Int(cursor.dropFirst()), offset >= 0 else { return nil }
    return offset
  }
}
