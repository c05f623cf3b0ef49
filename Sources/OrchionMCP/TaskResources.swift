import Foundation
import MCP
import OrchionAPI
import OrchionClient
import SwiftProtobuf

/// `orchion://tasks/{id}` (the task as get_task returns it, JSON) and
/// `orchion://tasks/{id}/log` (its output so far, text).
public enum TaskResourceURI: Equatable, Sendable {
  case task(String)
  case log(String)

  static let prefix = "orchion://tasks/"

  public init?(_ uri: String) {
    guard uri.hasPrefix(Self.prefix), uri.utf8.count <= 256 else { return nil }
    let rest = uri.dropFirst(Self.prefix.count)
    let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard let id = parts.first, !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    else { return nil }
    switch parts.count {
    case 1: self = .task(String(id))
    case 2 where parts[1] == "log": self = .log(String(id))
    default: return nil
    }
  }

  public var taskID: String {
    switch self {
    case .task(let id), .log(let id): id
    }
  }

  public var uri: String {
    switch self {
    case .task(let id): "\(Self.prefix)\(id)"
    case .log(let id): "\(Self.prefix)\(id)/log"
    }
  }

  static let templates: [Resource.Template] = [
    Resource.Template(
      uriTemplate: "orchion://tasks/{id}",
      name: "task",
      title: "A task",
      description: "A task's state, node, attempts, exit code and agent result (JSON).",
      mimeType: "application/json"
    ),
    Resource.Template(
      uriTemplate: "orchion://tasks/{id}/log",
      name: "task-log",
      title: "A task's output",
      description: "Everything the task printed so far, stdout, stderr and Orchion's notices in order.",
      mimeType: "text/plain"
    ),
  ]
}

extension OrchionToolbox {
  /// The resource's contents now.
  func read(_ resource: TaskResourceURI) async throws -> Resource.Content {
    switch resource {
    case .task(let id):
      return .text(Self.json(ToolValues.task(try await task(id))), uri: resource.uri, mimeType: "application/json")
    case .log(let id):
      let log = try await output(of: id)
      return .text(String(decoding: log.bytes, as: UTF8.self), uri: resource.uri, mimeType: "text/plain")
    }
  }

  /// The newest tasks the caller may list, as resources; none when it may not list.
  func recentTasks() async -> [Resource] {
    guard let tasks = try? await client.tasks.listTasks(.with { $0.pageSize = 50 }).tasks else {
      return []
    }
    return tasks.map { task in
      Resource(
        name: task.spec.name.isEmpty ? task.id : task.spec.name,
        uri: TaskResourceURI.task(task.id).uri,
        description: "\(task.state.label) task \(task.id)",
        mimeType: "application/json"
      )
    }
  }

  /// A fingerprint of what a subscriber to `resource` is told about: a change in it is an
  /// update. For the task, its state, attempt and node; for the log, also its length.
  func fingerprint(of resource: TaskResourceURI) async throws -> (String, finished: Bool) {
    let task = try await task(resource.taskID)
    var print = "\(task.state.rawValue)/\(task.attempt)/\(task.nodeID)/\(task.exitCode)"
    if case .log = resource { print += "/\(try await output(of: resource.taskID).bytes.count)" }
    return (print, task.state.isFinished)
  }
}
