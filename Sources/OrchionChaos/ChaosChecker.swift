public import OrchionCore

/// A guarantee a chaos run found broken.
public struct Violation: Hashable, Sendable, CustomStringConvertible {
  public enum Rule: String, Hashable, Sendable, CaseIterable {
    /// An acknowledged task had no terminal state after the quiet period.
    case unfinished = "unfinished-task"
    /// Two attempts of a fenced task ran at the same time.
    case overlappingAttempts = "overlapping-attempts"
    /// A task recorded SUCCEEDED whose ledger shows no completed run.
    case successWithoutRun = "success-without-run"
    /// A task recorded SUCCEEDED whose work completed more than once.
    case completedTwice = "completed-twice"
    /// An acknowledged message never delivered (to a queue's consumers, or a topic subscriber).
    case messageLost = "message-lost"
    /// A queue message handed to two consumers, both as first deliveries.
    case deliveredTwice = "delivered-twice"
    /// A process of a terminal task still alive.
    case processSurvived = "process-survived"
    /// The orchestrator's memory or descriptors grew without bound.
    case footprintGrew = "footprint-grew"
  }

  public var rule: Rule
  /// The task, message or resource concerned.
  public var subject: String
  public var detail: String
  /// When it happened, where that is known: the history around it is printed.
  public var time: UTCInstant?

  public var description: String { "\(rule.rawValue) \(subject): \(detail)" }
}

/// Reads a ``ChaosHistory`` and names every broken guarantee.
public enum ChaosChecker {
  /// Growth the footprint rule tolerates: the lowest reading of the run's last third may exceed
  /// the highest of its first third by up to half of it, or by up to these amounts.
  public static let residentSlackBytes: Int64 = 64 << 20
  public static let descriptorSlack = 64
  /// Fewer samples than this say nothing about a trend.
  public static let minimumSamples = 6

  public static func check(_ history: ChaosHistory) -> [Violation] {
    unfinished(history) + attempts(history) + messages(history) + survivors(history)
      + footprint(history)
  }

  private static func unfinished(_ history: ChaosHistory) -> [Violation] {
    history.tasks.compactMap { task in
      switch history.outcomes[task.id] {
      case .succeeded?, .failed?, .cancelled?: return nil
      case .unfinished(let state)?:
        return Violation(rule: .unfinished, subject: task.id, detail: "still \(state) after the quiet period")
      case nil:
        return Violation(rule: .unfinished, subject: task.id, detail: "acknowledged, then unknown to the orchestrator")
      }
    }
  }

  /// One attempt's run as its ledger shows it: from its start to its last record.
  private struct Run {
    var attempt: String
    var start: UTCInstant
    var last: UTCInstant
    var completed: Bool
  }

  private static func attempts(_ history: ChaosHistory) -> [Violation] {
    let byTask = Dictionary(grouping: history.ledger, by: \.task)
    var violations: [Violation] = []
    for task in history.tasks {
      let records = byTask[task.id] ?? []
      let runs = Dictionary(grouping: records, by: \.attempt).compactMap { attempt, records -> Run? in
        let starts = records.filter { $0.kind == .start }.map(\.time)
        guard let start = starts.min(), let last = records.map(\.time).max() else { return nil }
        return Run(attempt: attempt, start: start, last: last, completed: records.contains { $0.kind == .end })
      }.sorted { $0.start < $1.start }
      if !task.surviveDisconnect {
        var latest: Run?
        for run in runs {
          if let previous = latest, run.start < previous.last {
            violations.append(
              Violation(
                rule: .overlappingAttempts,
                subject: task.id,
                detail: "attempt \(run.attempt) started while attempt \(previous.attempt) was still running",
                time: run.start
              )
            )
          }
          if latest.map({ run.last > $0.last }) ?? true { latest = run }
        }
      }
      guard history.outcomes[task.id] == .succeeded else { continue }
      let completed = runs.filter(\.completed)
      if completed.isEmpty {
        violations.append(
          Violation(rule: .successWithoutRun, subject: task.id, detail: "SUCCEEDED, but no attempt's work completed")
        )
      } else if completed.count > 1 {
        violations.append(
          Violation(
            rule: .completedTwice,
            subject: task.id,
            detail: "its work completed in \(completed.count) attempts: \(completed.map(\.attempt).joined(separator: ", "))",
            time: completed[1].last
          )
        )
      }
    }
    return violations
  }

  private static func messages(_ history: ChaosHistory) -> [Violation] {
    let byMessage = Dictionary(grouping: history.deliveries, by: \.messageID)
    var violations: [Violation] = []
    for message in history.messages {
      let deliveries = byMessage[message.id] ?? []
      switch message.kind {
      case .queue:
        if deliveries.isEmpty {
          violations.append(Violation(rule: .messageLost, subject: message.id, detail: "sent to \(message.mailbox), never delivered"))
        }
        let firstTo = Set(deliveries.filter(\.first).map(\.consumer))
        if firstTo.count > 1 {
          violations.append(
            Violation(
              rule: .deliveredTwice,
              subject: message.id,
              detail: "a first delivery to each of \(firstTo.sorted().joined(separator: ", ")) on \(message.mailbox)"
            )
          )
        }
      case .topic:
        let reached = Set(deliveries.map(\.consumer))
        for subscriber in (history.subscribers[message.mailbox] ?? []).sorted() where !reached.contains(subscriber) {
          violations.append(
            Violation(rule: .messageLost, subject: message.id, detail: "published on \(message.mailbox), never delivered to \(subscriber)")
          )
        }
      }
    }
    return violations
  }

  private static func survivors(_ history: ChaosHistory) -> [Violation] {
    history.survivors.map {
      Violation(
        rule: .processSurvived,
        subject: $0.task,
        detail: "process \($0.pid) (\($0.command)) alive after its task ended"
      )
    }
  }

  private static func footprint(_ history: ChaosHistory) -> [Violation] {
    let samples = history.samples.sorted { $0.time < $1.time }
    guard samples.count >= minimumSamples else { return [] }
    let third = samples.count / 3
    let first = samples.prefix(third)
    let last = samples.suffix(third)
    var violations: [Violation] = []
    func grew<T: BinaryInteger>(_ value: (ChaosHistory.Sample) -> T, slack: T) -> (T, T)? {
      guard let highest = first.map(value).max(), let lowest = last.map(value).min() else { return nil }
      return lowest > highest + max(highest / 2, slack) ? (highest, lowest) : nil
    }
    if let (before, after) = grew(\.residentBytes, slack: residentSlackBytes) {
      violations.append(
        Violation(
          rule: .footprintGrew,
          subject: "orchestrator RSS",
          detail: "\(before >> 20) MiB at most in the first third of the run, \(after >> 20) MiB at least in the last"
        )
      )
    }
    if let (before, after) = grew(\.openDescriptors, slack: descriptorSlack) {
      violations.append(
        Violation(
          rule: .footprintGrew,
          subject: "orchestrator descriptors",
          detail: "\(before) at most in the first third of the run, \(after) at least in the last"
        )
      )
    }
    return violations
  }

  /// A summary: faults by kind, tasks, attempts, violations.
  public static func summary(_ history: ChaosHistory, violations: [Violation]) -> String {
    let faults = Dictionary(grouping: history.faults, by: \.kind).map { "\($0.key) \($0.value.count)" }.sorted()
    let attempts = Set(history.ledger.map { "\($0.task)/\($0.attempt)" }).count
    var lines = [
      "faults: " + (faults.isEmpty ? "none" : faults.joined(separator: ", ")),
      "tasks: \(history.tasks.count), attempts: \(attempts), messages: \(history.messages.count)",
      "violations: \(violations.count)",
    ]
    lines += violations.map { "  " + $0.description }
    return lines.joined(separator: "\n")
  }

  /// The faults and ledger records within `window` of `violation`, in time order: what to read
  /// to see how it came about.
  public static func slice(
    _ history: ChaosHistory,
    around violation: Violation,
    window: Duration = .seconds(10)
  ) -> [String] {
    guard let time = violation.time else { return [] }
    let from = time.advanced(by: .zero - window)
    let to = time.advanced(by: window)
    let faults = history.faults.filter { $0.time >= from && $0.time <= to }
      .map { ($0.time, "fault \($0.kind) \($0.target)") }
    let records = history.ledger.filter { $0.time >= from && $0.time <= to && $0.task == violation.subject }
      .map { ($0.time, "ledger \($0.line)") }
    return (faults + records).sorted { $0.0 < $1.0 }.map { "\($0.0.nanosecondsSinceEpoch) \($0.1)" }
  }
}
