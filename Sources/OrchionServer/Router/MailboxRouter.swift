import OrchionAPI
import OrchionCore
import SwiftProtobuf

/// The default ``Router``: durable mailboxes per task, node, queue and topic consumer,
/// at-least-once, FIFO per sender and address (see ``MailboxTable`` for the rules).
///
/// The mailboxes are part of the one ``ClusterState``: every send, subscription, acknowledgement
/// and tick is a transition of the ``Cluster``, ordered with the task and node events it
/// depends on. This type only adapts them to the ``Router`` protocol the service speaks.
struct MailboxRouter: Router {
  let cluster: Cluster
  let limits: RouterLimits

  func accept(_ message: OutgoingMessage, from sender: String) throws(OrchionError)
    -> AcceptedMessage
  {
    try cluster.send(message, from: sender, limits: limits)
  }

  func subscribe(_ request: SubscriptionRequest) throws(OrchionError) -> Subscription {
    try cluster.subscribe(request)
  }

  func unsubscribe(_ subscription: Subscription) {
    cluster.unsubscribe(subscription)
  }

  func acknowledge(_ deliveryIDs: [String], by acknowledger: Acknowledger)
    throws(OrchionError) -> Int
  {
    try cluster.acknowledge(deliveryIDs, by: acknowledger)
  }

  func mailboxes() -> [Orchion_V1_MailboxInfo] {
    cluster.mailboxes().map { summary in
      .with {
        $0.address = summary.key.address.description
        $0.consumer = summary.key.consumer
        $0.pending = UInt32(clamping: summary.pending)
        $0.inFlight = UInt32(clamping: summary.inFlight)
        $0.bytes = UInt64(clamping: summary.bytes)
        $0.subscribers = UInt32(clamping: summary.subscribers)
        $0.acknowledged = summary.acknowledged
      }
    }
  }
}
