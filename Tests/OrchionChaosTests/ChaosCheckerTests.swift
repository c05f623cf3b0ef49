import OrchionChaos
import OrchionCore
import Testing

/// Each rule of the chaos checker on a history made to break it, and a clean history that
/// breaks none: the checker can fail, and does not cry wolf.
@Suite("Chaos checker")
struct ChaosCheckerTests {
  let t0 = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)

  func at(_ seconds: Int64) -> UTCInstant { t0.advanced(by: .seconds(seconds)) }

  func run(_ task: String, _ attempt: String, from start: Int64, to end: Int64, completed: Bool = true)
    -> [LedgerRecord]
  {
    var records = [LedgerRecord(kind: .start, task: task, attempt: attempt, time: at(start))]
    for second in stride(from: start + 1, to: end, by: 1) {
      records.append(LedgerRecord(kind: .tick, task: task, attempt: attempt, time: at(second)))
    }
    records.append(LedgerRecord(kind: completed ? .end : .tick, task: task, attempt: attempt, time: at(end)))
    return records
  }

  /// A run without faults' consequences: a task retried after a loss (no overlap), one
  /// cancelled, messages each delivered once (a redelivery to another consumer is fine), a
  /// footprint that rises and settles.
  var clean: ChaosHistory {
    var history = ChaosHistory()
    history.tasks = [.init(id: "t1"), .init(id: "t2"), .init(id: "t3", surviveDisconnect: true)]
    history.outcomes = ["t1": .succeeded, "t2": .cancelled, "t3": .succeeded]
    history.ledger =
      run("t1", "a1", from: 0, to: 3, completed: false) + run("t1", "a2", from: 5, to: 8)
      + run("t2", "b1", from: 0, to: 2, completed: false)
      // Opted out of fencing: its copies may overlap, and may both complete.
      + run("t3", "c1", from: 0, to: 4, completed: false) + run("t3", "c2", from: 2, to: 6)
    history.messages = [
      .init(id: "m1", mailbox: "queue/work", kind: .queue),
      .init(id: "m2", mailbox: "topic/news", kind: .topic),
    ]
    history.subscribers = ["topic/news": ["s1", "s2"]]
    history.deliveries = [
      .init(consumer: "c1", messageID: "m1"),
      .init(consumer: "c2", messageID: "m1", first: false),
      .init(consumer: "s1", messageID: "m2"), .init(consumer: "s2", messageID: "m2"),
    ]
    history.samples = (Int64(0)..<12).map { second -> ChaosHistory.Sample in
      let megabytes: Int64 = 40 + min(second, 4) * 2
      return ChaosHistory.Sample(
        time: at(second),
        residentBytes: megabytes << 20,
        openDescriptors: 30 + Int(min(second, 3))
      )
    }
    history.faults = [.init(time: at(3), kind: "kill-agent", target: "n1")]
    return history
  }

  func rules(_ history: ChaosHistory) -> [Violation.Rule] {
    ChaosChecker.check(history).map(\.rule)
  }

  @Test("a clean history breaks no rule")
  func cleanHistory() {
    #expect(ChaosChecker.check(clean).isEmpty)
  }

  @Test("an acknowledged task still running, or forgotten, after the quiet period")
  func unfinished() {
    var history = clean
    history.outcomes["t1"] = .unfinished("RUNNING")
    history.tasks.append(.init(id: "t9"))
    #expect(rules(history) == [.unfinished, .unfinished])
  }

  @Test("two attempts of a fenced task running at once; the slice shows the fault and both")
  func overlap() throws {
    var history = clean
    history.ledger += run("t2", "b2", from: 1, to: 4)
    let violations = ChaosChecker.check(history)
    #expect(violations.map(\.rule) == [.overlappingAttempts])
    let violation = try #require(violations.first)
    #expect(violation.detail.contains("attempt b2 started while attempt b1"))
    let slice = ChaosChecker.slice(history, around: violation)
    #expect(slice.contains { $0.hasSuffix("fault kill-agent n1") })
    #expect(slice.contains { $0.contains("ledger start t2 b1") } && slice.contains { $0.contains("ledger start t2 b2") })
  }

  @Test("SUCCEEDED with no completed run, and SUCCEEDED with its work completed twice")
  func successAndLedger() {
    var none = clean
    none.ledger.removeAll { $0.task == "t1" && $0.kind == .end }
    #expect(rules(none) == [.successWithoutRun])
    var twice = clean
    twice.ledger = twice.ledger.map { record in
      var record = record
      if record.task == "t1", record.attempt == "a1", record.time == at(3) { record.kind = .end }
      return record
    }
    #expect(rules(twice) == [.completedTwice])
  }

  @Test("a queue message never delivered, or first-delivered to two consumers; a topic subscriber missed")
  func messages() {
    var lost = clean
    lost.deliveries.removeAll { $0.messageID == "m1" }
    #expect(rules(lost) == [.messageLost])
    var twice = clean
    twice.deliveries.append(.init(consumer: "c3", messageID: "m1"))
    #expect(rules(twice) == [.deliveredTwice])
    var missed = clean
    missed.deliveries.removeAll { $0.consumer == "s2" }
    #expect(rules(missed) == [.messageLost])
  }

  @Test("a process of a terminal task alive")
  func survivor() {
    var history = clean
    history.survivors = [.init(task: "t2", pid: 4242, command: "sleep 600")]
    #expect(rules(history) == [.processSurvived])
  }

  @Test("memory and descriptors that keep growing; too few samples say nothing")
  func footprint() {
    var history = clean
    history.samples = (Int64(0)..<12).map { second -> ChaosHistory.Sample in
      let megabytes: Int64 = 40 + second * 30
      return ChaosHistory.Sample(
        time: at(second),
        residentBytes: megabytes << 20,
        openDescriptors: 30 + Int(second) * 40
      )
    }
    #expect(rules(history) == [.footprintGrew, .footprintGrew])
    history.samples = Array(history.samples.prefix(ChaosChecker.minimumSamples - 1))
    #expect(rules(history).isEmpty)
  }

  @Test("the ledger is read back as tasks write it; torn lines are counted, not fatal")
  func ledger() {
    let record = LedgerRecord(kind: .end, task: "t1", attempt: "a2", time: at(8))
    let (records, malformed) = Ledger.parse(record.line + "\nstart t1 a3 12\nend t1 a\ngarbage\n")
    #expect(records == [record, LedgerRecord(kind: .start, task: "t1", attempt: "a3", time: .init(nanosecondsSinceEpoch: 12))])
    #expect(malformed == 2)
    #expect(Ledger.shellAppend(.tick, to: "/tmp/l") == #"echo "tick $ORCHION_TASK_ID $ORCHION_ATTEMPT_ID $(date +%s%N)" >> '/tmp/l'"#)
  }

  @Test("the summary counts faults by kind, tasks, attempts and violations")
  func summary() {
    var history = clean
    history.survivors = [.init(task: "t2", pid: 1, command: "x")]
    let text = ChaosChecker.summary(history, violations: ChaosChecker.check(history))
    #expect(text.contains("faults: kill-agent 1"))
    #expect(text.contains("tasks: 3, attempts: 5, messages: 2"))
    #expect(text.contains("violations: 1\n  process-survived t2"))
  }
}
