import Foundation
import OrchionAPI
import OrchionCore

/// Which mailbox: an address, and for a topic the consumer whose copy it is.
struct MailboxKey: Hashable, Sendable {
  var address: MessageAddress
  /// "" but for topics.
  var consumer: String
}

/// One message waiting in a mailbox, delivered or not.
struct QueuedMessage: Sendable {
  /// What is kept in the store (the message, its sequence, the consumer).
  var stored: Orchion_V1_StoredMessage
  var bytes: Int
  var expiresAt: UTCInstant
  /// Deliveries made so far.
  var deliveries: UInt32 = 0
  /// The subscription holding it unacknowledged, and until when.
  var holder: UInt64?
  var ackDeadline: UTCInstant?
  /// False until the message is durable: it may not be delivered before.
  var visible = false

  var sequence: UInt64 { stored.sequence }
}

/// The messages of one address (or one topic consumer) and who reads them.
///
/// Messages wait in `pending` by acceptance order (a message delivered again goes back to its
/// place), so each sender's messages leave in the order they came.
///
/// A value, changed in place where it lives (`mailboxes[key]?.…`): copied out of its
/// dictionary and written back, it would copy all its messages each time.
struct Mailbox: Sendable {
  /// By delivery (record) ID.
  var messages: [String: QueuedMessage] = [:]
  /// Visible, undelivered messages by sequence; entries before `head` were taken. An entry
  /// whose message was acknowledged or expired meanwhile is skipped when reached.
  private(set) var pending: [PendingEntry] = []
  private var head = 0
  /// Subscriptions reading this mailbox, served in turn.
  var subscribers: [UInt64] = []
  /// Where the round-robin over `subscribers` resumes.
  private var turn = 0
  var bytes = 0
  var inFlight = 0
  var acknowledged: UInt64 = 0
  /// A named topic consumer's mailbox: kept while nobody is subscribed, so the consumer gets
  /// what was published while it was away.
  var retained = false
  /// When the last subscriber of a retained mailbox left.
  var awaySince: UTCInstant?

  struct PendingEntry: Comparable, Sendable {
    var sequence: UInt64
    var id: String
    static func < (lhs: PendingEntry, rhs: PendingEntry) -> Bool { lhs.sequence < rhs.sequence }
  }

  var isIdle: Bool { messages.isEmpty && subscribers.isEmpty && !retained }

  /// Waiting to be delivered.
  var pendingCount: Int { messages.count - inFlight - invisible }
  /// Accepted, not yet durable.
  var invisible = 0

  /// Puts a message (new or delivered again) in its place among those waiting.
  mutating func makePending(_ id: String, sequence: UInt64) {
    let entry = PendingEntry(sequence: sequence, id: id)
    if head == pending.count || pending[pending.count - 1].sequence < sequence {
      pending.append(entry)
      return
    }
    let index = head + pending[head...].lowerBound(of: entry)
    pending.insert(entry, at: index)
  }

  /// Puts a held message back in line.
  mutating func release(_ id: String) {
    guard let message = messages[id], message.holder != nil else { return }
    messages[id]?.holder = nil
    messages[id]?.ackDeadline = nil
    inFlight -= 1
    makePending(id, sequence: message.sequence)
  }

  /// The first subscriber from the one whose turn it is that `hasRoom`, and how many places
  /// after the turn it is. The turn moves only in ``advance(past:)``, once a subscriber was
  /// given a message.
  func nextReader(hasRoom: (UInt64) -> Bool) -> (id: UInt64, offset: Int)? {
    for offset in 0..<subscribers.count {
      let candidate = subscribers[(turn + offset) % subscribers.count]
      if hasRoom(candidate) { return (candidate, offset) }
    }
    return nil
  }

  /// Gives the turn to the subscriber after the one `offset` places after the current turn.
  mutating func advance(past offset: Int) {
    turn = (turn + offset + 1) % subscribers.count
  }

  /// The next waiting message's ID, taken from the queue.
  mutating func takeNext() -> String? {
    while head < pending.count {
      let entry = pending[head]
      head += 1
      if let message = messages[entry.id], message.holder == nil, message.visible {
        compactIfWorthIt()
        return entry.id
      }
    }
    compactIfWorthIt()
    return nil
  }

  /// Whether any message may be waiting.
  var mayHavePending: Bool { head < pending.count }

  private mutating func compactIfWorthIt() {
    if head == pending.count {
      pending.removeAll(keepingCapacity: true)
      head = 0
    } else if head > 1024, head * 2 > pending.count {
      pending.removeFirst(head)
      head = 0
    }
  }
}

extension ArraySlice where Element: Comparable {
  /// The offset from `startIndex` of the first element not less than `value` (sorted slice).
  func lowerBound(of value: Element) -> Int {
    var low = startIndex
    var high = endIndex
    while low < high {
      let middle = (low + high) / 2
      if self[middle] < value { low = middle + 1 } else { high = middle }
    }
    return low - startIndex
  }
}
