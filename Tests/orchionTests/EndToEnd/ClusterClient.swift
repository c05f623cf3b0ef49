import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf

/// Test helpers over the task API.
extension OrchionClient {
  func submit(
    _ command: [String],
    env: [String: String] = [:],
    workdir: String = "",
    selector: [String: String] = [:],
    timeout: Duration? = nil,
    maxAttempts: Int32 = 1
  ) async throws -> Orchion_V1_Task {
    try await tasks.submitTask(
      .with {
        $0.spec = .with {
          $0.command = command
          $0.env = env
          $0.workdir = workdir
          $0.nodeSelector = selector
          $0.maxAttempts = maxAttempts
          if let timeout {
            $0.timeout = .with { $0.seconds = timeout.components.seconds }
          }
        }
      }
    ).task
  }

  /// Submits a spec built by `update`.
  func submit(_ update: (inout Orchion_V1_TaskSpec) -> Void) async throws -> Orchion_V1_Task {
    var spec = Orchion_V1_TaskSpec()
    update(&spec)
    return try await tasks.submitTask(.with { $0.spec = spec }).task
  }

  func task(_ id: String) async throws -> Orchion_V1_Task {
    try await tasks.getTask(.with { $0.taskID = id }).task
  }

  /// Waits until the task is in `state` (or any terminal state when `nil`).
  @discardableResult
  func waitFor(
    _ id: String,
    state: Orchion_V1_TaskState? = nil,
    timeout: Duration = .seconds(60)
  ) async throws -> Orchion_V1_Task {
    var last = try await task(id)
    do {
      try await eventually(timeout: timeout) {
        last = try await task(id)
        if let state { return last.state == state }
        return [.succeeded, .failed, .cancelled].contains(last.state)
      }
    } catch {
      throw OrchionError(
        code: .internalError,
        message: "task \(id) not \(state.map { "\($0)" } ?? "finished") within \(timeout): \(last)"
      )
    }
    return last
  }

  /// All output of a task: (stdout, stderr).
  func output(_ id: String) async throws -> (stdout: String, stderr: String) {
    try await tasks.streamTaskLogs(.with { $0.taskID = id }) { response in
      var out = Data()
      var err = Data()
      for try await chunk in response.messages {
        if chunk.stream == .stdout { out += chunk.data } else { err += chunk.data }
      }
      return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
  }
}

/// A unique number to put in a command line, so its processes can be found in /proc.
func uniqueMarker() -> String {
  "\(Int.random(in: 1000...9999)).\(Int.random(in: 100_000...999_999))"
}

extension Cluster {
  /// Runs `orchion ARGS… --server ADDRESS [-- TASK…]` to completion.
  func orchion(_ arguments: [String]) async throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    try await run(BuiltProducts.orchion, arguments)
  }

  /// Runs `orchion-bench ARGS… --server ADDRESS [-- TASK…]` to completion.
  func orchionBench(_ arguments: [String]) async throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    try await run(BuiltProducts.orchionBench, arguments)
  }

  private func run(_ executable: String, _ arguments: [String]) async throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let separator = arguments.firstIndex(of: "--") ?? arguments.endIndex
    let process = try ChildProcess(
      executable,
      // Before `--` if there is one: what follows it belongs to the task.
      Array(arguments.prefix(upTo: separator)) + ["--server", "\(address)"]
        + arguments.suffix(from: separator),
      environment: environment
    )
    let status = try await process.waitForExit()
    return (status, process.standardOutput, process.standardError)
  }
}
