public import OrchionCore

/// What a chaos workload's tasks write about themselves, one line per event, appended with
/// `O_APPEND` (`>>` in the shell) so that lines from attempts running at once never mix:
/// `start TASK ATTEMPT NANOS`, `tick …` while running, `end …` when its work completed.
public struct LedgerRecord: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable {
    case start, tick, end
  }

  public var kind: Kind
  public var task: String
  public var attempt: String
  public var time: UTCInstant

  public init(kind: Kind, task: String, attempt: String, time: UTCInstant) {
    self.kind = kind
    self.task = task
    self.attempt = attempt
    self.time = time
  }

  /// The line as a task writes it.
  public var line: String { "\(kind.rawValue) \(task) \(attempt) \(time.nanosecondsSinceEpoch)" }
}

public enum Ledger {
  /// The records in a ledger file's text, and how many lines were not records (a line torn by
  /// a kill, or anything else): counted, never fatal.
  public static func parse(_ text: String) -> (records: [LedgerRecord], malformedLines: Int) {
    var records: [LedgerRecord] = []
    var malformed = 0
    for line in text.split(whereSeparator: \.isNewline) {
      let fields = line.split(separator: " ")
      guard fields.count == 4, let kind = LedgerRecord.Kind(rawValue: String(fields[0])),
        let nanoseconds = Int64(fields[3])
      else {
        malformed += 1
        continue
      }
      records.append(
        LedgerRecord(
          kind: kind,
          task: String(fields[1]),
          attempt: String(fields[2]),
          time: UTCInstant(nanosecondsSinceEpoch: nanoseconds)
        )
      )
    }
    return (records, malformed)
  }

  /// A POSIX shell line that appends a record of `kind` for the running attempt to `path`.
  public static func shellAppend(_ kind: LedgerRecord.Kind, to path: String) -> String {
    "echo \"\(kind.rawValue) $ORCHION_TASK_ID $ORCHION_ATTEMPT_ID $(date +%s%N)\" >> '\(path)'"
  }
}
