import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The router's events as transitions of the one state (see ``ClusterState``'s router
/// extension), and the live subscription streams they refer to.
extension Cluster {
  /// Accepts a message; returns at once. It is delivered, and the sender may be told, once
  /// ``AcceptedMessage/durable`` returns.
  /// - Throws: `notFound` for an unknown task or node, `failedPrecondition` for a finished
  ///   task, `resourceExhausted` when a mailbox or the router is full.
  func send(
    _ message: OutgoingMessage,
    from sender: String,
    limits: RouterLimits
  ) throws(OrchionError) -> AcceptedMessage {
    let now = clock.now
    let ttl = message.ttl ?? limits.defaultTTL
    var routed = Orchion_V1_RoutedMessage()
    routed.id = MessageIdentifiers.messageID(at: now)
    routed.from = sender
    routed.to = message.to.description
    routed.payload = message.payload
    routed.headers = message.headers
    routed.sentAt = .init(now)
    routed.expiresAt = .init(now.advanced(by: ttl))
    var stored = Orchion_V1_StoredMessage()
    stored.message = routed
    let encoded: Data
    do { encoded = try stored.serializedBytes() } catch {
      throw OrchionError(code: .internalError, message: "cannot encode a message: \(error)")
    }
    let arrival = MailboxTable.Arrival(
      message: routed,
      encodedMessage: encoded,
      size: MailboxTable.size(
        payload: message.payload,
        headers: message.headers,
        overhead: limits.messageOverheadBytes
      ),
      expiresAt: now.advanced(by: ttl)
    )
    let (_, entry) = try transitionShell(wake: false, then: nil) {
      shell, _ throws(OrchionError) in
      try shell.cluster.send(arrival, to: message.to)
    }
    guard let entry else {
      // A topic nobody listens to: accepted, and gone (publish/subscribe).
      return AcceptedMessage(id: routed.id, durable: {})
    }
    return AcceptedMessage(
      id: routed.id,
      durable: { [journal] in try await journal.waitUntilDurable(entry) }
    )
  }

  /// Starts delivering an address's messages.
  /// - Throws: `notFound`/`failedPrecondition` as for ``send(_:from:limits:)``,
  ///   `resourceExhausted` when it would open a mailbox beyond the bound.
  func subscribe(_ request: SubscriptionRequest) throws(OrchionError) -> Subscription {
    try transitionShell(wake: false, then: nil) { shell, now throws(OrchionError) in
      let (id, consumer, actions) = try shell.cluster.subscribe(request, now: now)
      let subscription = Subscription(id: id, address: request.address, consumer: consumer)
      // Before the actions are performed: they deliver to it.
      shell.subscriptions[id] = subscription
      return (subscription, actions)
    }.result
  }

  /// Ends a subscription: what it held is delivered again (to the next subscriber).
  func unsubscribe(_ subscription: Subscription) {
    transitionShell(wake: false, then: nil) { shell, now in
      ((), shell.cluster.unsubscribe(subscription.id, now: now))
    }
  }

  /// Acknowledges deliveries (see ``Router/acknowledge(_:by:)``).
  func acknowledge(_ deliveryIDs: [String], by acknowledger: Acknowledger)
    throws(OrchionError) -> Int
  {
    try transitionShell(wake: false, then: nil) { shell, now throws(OrchionError) in
      let (count, actions) = try shell.cluster.acknowledge(deliveryIDs, by: acknowledger, now: now)
      return (count, actions)
    }.result
  }

  /// Messages now durable may be delivered.
  func reveal(_ ids: [String]) {
    transitionShell(wake: false, then: nil) { shell, now in
      ((), shell.cluster.reveal(ids, now: now))
    }
  }

  /// Every mailbox holding messages or subscribers.
  func mailboxes() -> [MailboxSummary] {
    state.withLock { $0.cluster.mailboxes.summaries }
  }

  /// Ends every subscription's stream (shutdown): long-lived streams would hold the server up.
  func closeSubscriptions() {
    let subscriptions = state.withLock { Array($0.subscriptions.values) }
    for subscription in subscriptions { subscription.continuation.finish() }
  }

  /// Replaces the mailboxes with the messages and named topic consumers the store holds
  /// (after a start or a takeover; see ``MailboxTable/restore(_:consumers:openTasks:now:)``).
  /// Call it after ``restore(tasks:nodes:)``.
  /// - Throws: `dataLoss` for a stored message that cannot be read.
  func restoreMessages(_ records: [KeyedRecord], consumers: [KeyedRecord]) throws(OrchionError) {
    var copies: [MailboxTable.StoredCopy] = []
    copies.reserveCapacity(records.count)
    for record in records {
      do {
        copies.append(
          .init(id: record.id, stored: try Orchion_V1_StoredMessage(serializedBytes: record.body))
        )
      } catch {
        throw .dataLoss("stored message '\(record.id)' is unreadable: \(error)")
      }
    }
    let (kept, dropped) = transitionShell(wake: false, then: nil) { shell, now in
      let result = shell.cluster.restoreMessages(copies, consumers: consumers.map(\.id), now: now)
      return ((result.kept, result.dropped), result.actions)
    }.result
    if !records.isEmpty {
      logger.info(
        "messages restored",
        metadata: ["orchion.messages": "\(kept)", "orchion.dropped": "\(dropped)"]
      )
    }
  }

  /// Hands decided deliveries to their subscriptions, outside the lock and in the order they
  /// were decided: one caller at a time drains the outbox (the others return at once, their
  /// deliveries handed over by it), so two callers cannot swap a subscriber's messages.
  func flushDeliveries() {
    let starts = state.withLock { shell in
      guard !shell.flushing, !shell.outbox.isEmpty else { return false }
      shell.flushing = true
      return true
    }
    guard starts else { return }
    while let batch = state.withLock({ shell -> [(Subscription, MailboxDelivery)]? in
      guard !shell.outbox.isEmpty else {
        shell.flushing = false
        return nil
      }
      defer { shell.outbox.removeAll(keepingCapacity: true) }
      return shell.outbox.map { ($0.subscription, $0.delivery) }
    }) {
      for (subscription, delivery) in batch {
        subscription.continuation.yield(
          .with {
            $0.deliveryID = delivery.id
            $0.message = delivery.message
            $0.deliveryCount = delivery.count
          }
        )
      }
    }
  }
}

/// How the router names messages.
enum MessageIdentifiers {
  /// `m`, the time in milliseconds (12 hex digits, so IDs sort by time) and 16 random hex
  /// digits: unique across restarts and orchestrators without coordination.
  static func messageID(at instant: UTCInstant) -> String {
    let milliseconds = UInt64(max(0, instant.nanosecondsSinceEpoch / 1_000_000))
    return "m" + hex(milliseconds, digits: 12) + hex(UInt64.random(in: .min ... .max), digits: 16)
  }

  private static func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}
