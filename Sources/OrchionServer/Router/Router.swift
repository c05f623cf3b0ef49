import Foundation
import OrchionAPI
import OrchionCore

/// Moves messages between tasks, nodes and programs: what `orchion.v1.RouterService` serves.
///
/// ``MailboxRouter`` is the default (durable mailboxes, at-least-once, FIFO per sender and
/// address). Another routing policy — say, a topic bridged to an outside broker, or a queue
/// that prefers consumers on the sender's node — conforms to this protocol and is handed to
/// ``RouterServiceHandler`` instead; the handler does authentication, validation of the wire
/// format and stream plumbing, the router does everything else.
protocol Router: Sendable {
  /// Accepts a message, in the order of the calls; returns at once. The message may be
  /// delivered, and the sender told, only once ``AcceptedMessage/durable`` returns.
  /// - Throws: `notFound` for an unknown task or node, `failedPrecondition` for a finished
  ///   task, `resourceExhausted` when a mailbox or the router is full.
  func accept(_ message: OutgoingMessage, from sender: String) throws(OrchionError)
    -> AcceptedMessage

  /// Starts delivering an address's messages.
  /// - Throws: `notFound`/`failedPrecondition` as for ``accept(_:from:)``.
  func subscribe(_ request: SubscriptionRequest) throws(OrchionError) -> Subscription

  /// Ends a subscription: what it held unacknowledged is delivered again (to the next
  /// subscriber).
  func unsubscribe(_ subscription: Subscription)

  /// Acknowledges deliveries; IDs not outstanding (waiting, already acknowledged, expired,
  /// unknown) are skipped.
  /// - Parameter acknowledger: Who acknowledges: only the subscription a message was
  ///   delivered to may, or by `Ack` the caller that opened that subscription.
  /// - Returns: How many were outstanding.
  /// - Throws: `permissionDenied` (and acknowledges nothing) when one is held by another
  ///   subscription.
  func acknowledge(_ deliveryIDs: [String], by acknowledger: Acknowledger)
    throws(OrchionError) -> Int

  /// Every mailbox holding messages or subscribers.
  func mailboxes() -> [Orchion_V1_MailboxInfo]
}

/// Who acknowledges deliveries.
enum Acknowledger: Sendable {
  /// A subscription, on its own stream: the deliveries it holds.
  case subscription(UInt64)
  /// A caller by name (``RouterCaller/name``), by the `Ack` RPC: deliveries held by
  /// subscriptions it opened.
  case caller(String)
}

/// A message as its sender gave it, validated.
struct OutgoingMessage: Sendable {
  var to: MessageAddress
  var payload: Data
  var headers: [String: String]
  /// How long it may wait; `nil` for the router's default.
  var ttl: Duration?
}

/// A message the router took: its ID, and how to wait until it is kept.
struct AcceptedMessage: Sendable {
  var id: String
  /// Returns once the message is durable.
  var durable: @Sendable () async throws -> Void
}

/// What a subscriber asks for.
struct SubscriptionRequest: Sendable {
  var address: MessageAddress
  /// For topics: the consumer name ("" for an anonymous subscription).
  var consumer: String
  var maxInFlight: Int
  var ackTimeout: Duration
  /// The attempt subscribing, when a task does: the subscription ends with the attempt, so
  /// what it held goes to the next one.
  var attempt: (task: TaskID, attempt: AttemptID)?
  /// Who subscribes (``RouterCaller/name``).
  var owner: String
}

/// A live subscription: its deliveries, until it ends.
final class Subscription: Sendable {
  let id: UInt64
  let address: MessageAddress
  /// The consumer in effect (topics), else "".
  let consumer: String
  let deliveries: AsyncThrowingStream<Orchion_V1_Delivery, any Error>
  let continuation: AsyncThrowingStream<Orchion_V1_Delivery, any Error>.Continuation

  init(id: UInt64, address: MessageAddress, consumer: String) {
    self.id = id
    self.address = address
    self.consumer = consumer
    (deliveries, continuation) = AsyncThrowingStream.makeStream(
      of: Orchion_V1_Delivery.self
    )
  }
}
