import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion run -n N` and `orchion run --each FILE`: submits a group, shows its progress on
/// standard error until it is done, and exits 0 only when every member succeeded (or, with
/// `--first K`, once K have).
enum GroupRun {
  /// How often the group is looked at while it runs.
  static let pollInterval = Duration.milliseconds(500)

  struct Options {
    var count: Int32
    var items: [String]
    var spread: Bool
    var first: Int?
    var cancelRest: Bool
  }

  static func run(spec: Orchion_V1_TaskSpec, options: Options, client: OrchionNetworkClient) async throws -> Int32 {
    let request = Orchion_V1_SubmitTaskGroupRequest.with {
      $0.spec = spec
      $0.count = options.items.isEmpty ? options.count : 0
      $0.items = options.items
      $0.spread = options.spread
      $0.idempotencyKey = Submission.freshKey()
    }
    let submitted = try await Submission.retryingUnavailable {
      try await client.tasks.submitTaskGroup(request).group
    }
    Console.error("orchion: group \(submitted.id): \(submitted.size) members")
    let progress = ProgressLine(total: Int(submitted.size))
    var group = submitted
    while !isDone(group, first: options.first) {
      progress.show(group)
      try await Task.sleep(for: pollInterval)
      group = try await client.tasks.getTaskGroup(
        .with {
          $0.groupID = submitted.id
          $0.countsOnly = true
        }
      ).group
    }
    progress.show(group, final: true)
    if options.cancelRest, group.pending + group.running > 0 {
      let unfinished = group.pending + group.running
      group = try await client.tasks.cancelTaskGroup(.with { $0.groupID = submitted.id }).group
      Console.error("orchion: cancelled the \(unfinished) members still unfinished")
    }
    var failed = try await client.taskGroup(submitted.id, state: .failed).members
    if options.first == nil { failed += try await client.taskGroup(submitted.id, state: .cancelled).members }
    failed.sort { $0.index < $1.index }
    if !failed.isEmpty {
      var table = TextTable(columns: ["INDEX", "TASK", "STATE", "EXIT", "NODE", "MESSAGE"])
      for member in failed {
        table.append([
          "\(member.index)", member.taskID, member.state.label,
          member.hasExitCode ? "\(member.exitCode)" : "-", member.nodeID.isEmpty ? "-" : member.nodeID,
          member.message,
        ])
      }
      Console.error("orchion: \(failed.count) of \(group.size) members did not succeed:")
      FileHandle.standardError.write(Data(table.render().utf8))
    }
    if let first = options.first { return group.succeeded >= first ? 0 : 1 }
    return group.succeeded == group.size ? 0 : 1
  }

  /// All members finished, or — with `--first K` — K succeeded or too few can still.
  static func isDone(_ group: Orchion_V1_TaskGroup, first: Int?) -> Bool {
    let unfinished = Int(group.pending + group.running)
    guard let first else { return unfinished == 0 }
    return Int(group.succeeded) >= first || Int(group.succeeded) + unfinished < first || unfinished == 0
  }
}

/// The group's progress on standard error: redrawn in place on a terminal, one line per
/// change otherwise (logs, CI).
final class ProgressLine {
  let total: Int
  private let started = ContinuousClock.now
  private let terminal = isatty(STDERR_FILENO) == 1
  private var last = ""

  init(total: Int) { self.total = total }

  func show(_ group: Orchion_V1_TaskGroup, final: Bool = false) {
    let done = Int(group.succeeded + group.failed + group.cancelled)
    let elapsed = ContinuousClock.now - started
    var eta = ""
    if done > 0, done < total {
      let seconds = Double(elapsed.components.seconds) * Double(total - done) / Double(done)
      eta = ", ETA \(Int(seconds.rounded()))s"
    }
    let width = 30
    let filled = total == 0 ? width : width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    let text =
      "[\(bar)] \(done)/\(total) done: \(group.succeeded) succeeded, \(group.failed) failed, \(group.cancelled) cancelled, \(group.running) running, \(group.pending) pending\(eta)"
    guard text != last || final else { return }
    last = text
    if terminal {
      FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (final ? "\n" : "")).utf8))
    } else {
      Console.error(text)
    }
  }
}

/// Submitting so that a retry never runs anything twice: one fresh idempotency key per
/// invocation, and UNAVAILABLE (an orchestrator restarting, a leader failing over) retried
/// with that same key.
enum Submission {
  static func freshKey() -> String { "cli-" + UUID().uuidString.lowercased() }

  static func retryingUnavailable<Result: Sendable>(
    attempts: Int = 8,
    _ body: () async throws -> Result
  ) async throws -> Result {
    var delay = Duration.milliseconds(250)
    for _ in 1..<attempts {
      do {
        return try await body()
      } catch let error as RPCError where error.code == .unavailable {
        try await Task.sleep(for: delay)
        delay = min(delay * 2, .seconds(4))
      }
    }
    return try await body()
  }
}
