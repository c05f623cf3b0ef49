public import OrchionCore

/// Everything a chaos run observed, for ``ChaosChecker``: what was submitted and acknowledged,
/// how each task ended, what the tasks wrote in their ledger, the messages sent and received,
/// processes found alive after their task ended, the orchestrator's footprint over time, and
/// the faults injected.
public struct ChaosHistory: Sendable {
  /// A task whose submission was acknowledged.
  public struct Task: Hashable, Sendable {
    public var id: String
    /// Opted out of fencing: two copies may run at once.
    public var surviveDisconnect: Bool

    public init(id: String, surviveDisconnect: Bool = false) {
      self.id = id
      self.surviveDisconnect = surviveDisconnect
    }
  }

  /// How a task stood after the quiet period.
  public enum Outcome: Hashable, Sendable {
    case succeeded, failed, cancelled
    /// Still pending, assigned or running.
    case unfinished(String)
  }

  public enum MailboxKind: Hashable, Sendable {
    /// Each message to one consumer.
    case queue
    /// Each message to every subscriber.
    case topic
  }

  /// A message whose `Send` was acknowledged.
  public struct Message: Hashable, Sendable {
    public var id: String
    public var mailbox: String
    public var kind: MailboxKind

    public init(id: String, mailbox: String, kind: MailboxKind) {
      self.id = id
      self.mailbox = mailbox
      self.kind = kind
    }
  }

  /// A message a consumer received.
  public struct Delivery: Hashable, Sendable {
    public var consumer: String
    public var messageID: String
    /// Not marked as a redelivery: the first time it was handed to anyone.
    public var first: Bool

    public init(consumer: String, messageID: String, first: Bool = true) {
      self.consumer = consumer
      self.messageID = messageID
      self.first = first
    }
  }

  /// A process of a terminal task found alive.
  public struct Survivor: Hashable, Sendable {
    public var task: String
    public var pid: Int32
    public var command: String

    public init(task: String, pid: Int32, command: String) {
      self.task = task
      self.pid = pid
      self.command = command
    }
  }

  /// The orchestrator's footprint at one moment.
  public struct Sample: Hashable, Sendable {
    public var time: UTCInstant
    public var residentBytes: Int64
    public var openDescriptors: Int

    public init(time: UTCInstant, residentBytes: Int64, openDescriptors: Int) {
      self.time = time
      self.residentBytes = residentBytes
      self.openDescriptors = openDescriptors
    }
  }

  /// A fault the nemesis injected.
  public struct Fault: Hashable, Sendable {
    public var time: UTCInstant
    public var kind: String
    public var target: String

    public init(time: UTCInstant, kind: String, target: String) {
      self.time = time
      self.kind = kind
      self.target = target
    }
  }

  public var tasks: [Task] = []
  public var outcomes: [String: Outcome] = [:]
  public var ledger: [LedgerRecord] = []
  public var messages: [Message] = []
  /// Who subscribed to each topic, for the whole run.
  public var subscribers: [String: Set<String>] = [:]
  public var deliveries: [Delivery] = []
  public var survivors: [Survivor] = []
  public var samples: [Sample] = []
  public var faults: [Fault] = []

  public init() {}
}
