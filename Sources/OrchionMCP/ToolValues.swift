import Foundation
public import MCP
public import OrchionAPI
import OrchionClient
import SwiftProtobuf

/// The API's messages as the tools' structured content: snake_case keys, states in capitals
/// as the CLI prints them, times as RFC 3339 text, absent values as null.
public enum ToolValues {
  public static func task(_ task: Orchion_V1_Task) -> Value {
    var fields: [String: Value] = [
      "task_id": .string(task.id),
      "name": .string(task.spec.name),
      "state": .string(task.state.label),
      "finished": .bool(task.state.isFinished),
      "node_id": .string(task.nodeID),
      "attempt": .int(Int(task.attempt)),
      "exit_code": exitCode(of: task),
      "termination": .string(terminationLabel(task.termination)),
      "message": .string(task.message),
      "created_at": time(task.createdAt, present: task.hasCreatedAt),
      "started_at": time(task.startedAt, present: task.hasStartedAt),
      "finished_at": time(task.finishedAt, present: task.hasFinishedAt),
      "parent_task_id": .string(task.parentTaskID),
      "agent": .null,
    ]
    if task.spec.hasAgent || task.hasAgentResult {
      var agent: [String: Value] = [
        "name": .string(task.spec.agent.name),
        "model": .string(task.agentResult.model.isEmpty ? task.spec.agent.model : task.agentResult.model),
      ]
      if task.hasAgentResult {
        let result = task.agentResult
        agent["status"] = .string(String(describing: result.status).uppercased())
        agent["session_id"] = .string(result.sessionID)
        agent["text"] = .string(result.text)
        agent["turns"] = .int(Int(result.turns))
        agent["input_tokens"] = .int(Int(result.inputTokens))
        agent["output_tokens"] = .int(Int(result.outputTokens))
        agent["cached_input_tokens"] = .int(Int(result.cachedInputTokens))
        agent["cost_usd"] = result.hasCostUsd ? .double(result.costUsd) : .null
        agent["error"] = .string(result.error)
      }
      fields["agent"] = .object(agent)
    }
    return .object(fields)
  }

  public static func node(_ node: Orchion_V1_Node) -> Value {
    let total = node.resources
    let used = node.allocated
    return .object([
      "node_id": .string(node.id),
      "status": .string(nodeStatusLabel(node.status)),
      "cordoned": .bool(node.cordoned),
      "labels": .object(node.labels.mapValues(Value.string)),
      "cpu": .double(Double(total.cpuMillis) / 1_000),
      "cpu_free": .double(Double(max(0, total.cpuMillis &- used.cpuMillis)) / 1_000),
      "memory_mb": .int(Int(total.memoryBytes / 1_048_576)),
      "memory_free_mb": .int(Int(max(0, total.memoryBytes &- used.memoryBytes) / 1_048_576)),
      "gpus": .int(Int(total.gpus)),
      "gpus_free": .int(Int(max(0, total.gpus &- used.gpus))),
      "agents": .array(node.agents.map { .string($0.name) }),
    ])
  }

  public static func message(_ message: Orchion_V1_RoutedMessage) -> Value {
    .object([
      "id": .string(message.id),
      "from": .string(message.from),
      "to": .string(message.to),
      "payload": .string(String(decoding: message.payload, as: UTF8.self)),
      "headers": .object(message.headers.mapValues(Value.string)),
      "sent_at": time(message.sentAt, present: message.hasSentAt),
    ])
  }

  static func nodeStatusLabel(_ status: Orchion_V1_NodeStatus) -> String {
    switch status {
    case .active: "active"
    case .inactive: "inactive"
    case .disconnected: "disconnected"
    case .unspecified, .UNRECOGNIZED: "unknown"
    }
  }

  static func terminationLabel(_ reason: Orchion_V1_TerminationReason) -> String {
    switch reason {
    case .unspecified, .UNRECOGNIZED: ""
    case .exited: "exited"
    case .signalled: "signalled"
    case .timedOut: "timed_out"
    case .cancelled: "cancelled"
    case .lost: "lost"
    case .preempted: "preempted"
    case .drained: "drained"
    case .couldNotStart: "could_not_start"
    case .spawnerDied: "spawner_died"
    }
  }

  /// The exit code when the last attempt's process exited, else null (killed, never ran).
  static func exitCode(of task: Orchion_V1_Task) -> Value {
    if let last = task.attempts.last, last.number == task.attempt {
      return last.hasExitCode ? .int(Int(last.exitCode)) : .null
    }
    return task.state.isFinished && task.termination == .exited ? .int(Int(task.exitCode)) : .null
  }

  static func time(_ timestamp: Google_Protobuf_Timestamp, present: Bool) -> Value {
    guard present else { return .null }
    return .string(timestamp.date.formatted(.iso8601))
  }
}
