import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// `orchion.v1.RouterService`: authentication and wire format around a ``Router``.
struct RouterServiceHandler: Orchion_V1_RouterService.SimpleServiceProtocol {
  let router: any Router
  let limits: RouterLimits
  /// The node of a task's attempt while it is the task's current, unfinished one.
  let currentNode: @Sendable (TaskID, AttemptID) -> NodeID?

  func send(
    request: Orchion_V1_SendRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_SendResponse {
    let caller = try RouterCaller.current(currentNode: currentNode)
    let accepted = try router.accept(
      try OutgoingMessage(validating: request, limits: limits),
      from: caller.name
    )
    try await accepted.durable()
    return .with { $0.messageID = accepted.id }
  }

  func sendStream(
    request: RPCAsyncSequence<Orchion_V1_SendRequest, any Error>,
    response: RPCWriter<Orchion_V1_SendResponse>,
    context: ServerContext
  ) async throws {
    let caller = try RouterCaller.current(currentNode: currentNode)
    // Accepting in order while earlier messages are committed: one commit covers many.
    let (accepted, queue) = AsyncStream.makeStream(of: AcceptedMessage.self)
    try await withRPCCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for await message in accepted {
            try await message.durable()
            try await response.write(.with { $0.messageID = message.id })
          }
        }
        var failure: (any Error)?
        do {
          for try await message in request {
            queue.yield(
              try router.accept(
                try OutgoingMessage(validating: message, limits: limits),
                from: caller.name
              )
            )
          }
        } catch {
          // What came before was accepted: answer it, then end with this error.
          failure = error
        }
        queue.finish()
        try await group.waitForAll()
        if let failure { throw failure }
      }
    } onCancelRPC: {
      queue.finish()
    }
  }

  func subscribe(
    request: RPCAsyncSequence<Orchion_V1_SubscribeRequest, any Error>,
    response: RPCWriter<Orchion_V1_SubscribeResponse>,
    context: ServerContext
  ) async throws {
    let caller = try RouterCaller.current(currentNode: currentNode)
    let opened = OpenedSubscription()
    let (subscriptions, announce) = AsyncStream.makeStream(of: Subscription.self)
    defer {
      if let subscription = opened.value.withLock({ $0 }) { router.unsubscribe(subscription) }
    }
    try await withRPCCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for await subscription in subscriptions {
            try await response.write(
              .with {
                $0.subscribed = .with {
                  $0.address = subscription.address.description
                  $0.consumer = subscription.consumer
                }
              }
            )
            for try await delivery in subscription.deliveries {
              try await response.write(.with { $0.delivery = delivery })
            }
            break
          }
        }
        group.addTask {
          for try await message in request {
            switch message.kind {
            case .open(let open):
              guard opened.value.withLock({ $0 }) == nil else {
                throw OrchionError.invalidArgument(
                  field: "open",
                  "open: the subscription is already open"
                )
              }
              let subscription = try router.subscribe(
                try SubscriptionRequest(validating: open, caller: caller, limits: limits)
              )
              opened.value.withLock { $0 = subscription }
              announce.yield(subscription)
              announce.finish()
            case .ack(let ack):
              guard let subscription = opened.value.withLock({ $0 }) else {
                throw OrchionError.invalidArgument("the first request must be open")
              }
              _ = try router.acknowledge(
                try validatedDeliveryIDs(ack.deliveryIds, field: "ack.delivery_ids"),
                by: .subscription(subscription.id)
              )
            case .none:
              throw OrchionError.invalidArgument("a request must be open or ack")
            }
          }
          // The client closed its side: its acknowledgements are all in, so the subscription
          // ends cleanly (what it holds unacknowledged goes back to the mailbox).
          announce.finish()
        }
        // Either side ending ends the call: the writer when the subscription ends (the
        // attempt ended, shutdown), the reader when the client closes its side.
        _ = try await group.next()
        group.cancelAll()
      }
    } onCancelRPC: {
      announce.finish()
      opened.value.withLock { $0 }?.continuation.finish()
    }
  }

  func ack(
    request: Orchion_V1_AckRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_AckResponse {
    let caller = try RouterCaller.current(currentNode: currentNode)
    let count = try router.acknowledge(
      try validatedDeliveryIDs(request.deliveryIds, field: "delivery_ids"),
      by: .caller(caller.name)
    )
    return .with { $0.acknowledged = UInt32(count) }
  }

  func listMailboxes(
    request: Orchion_V1_ListMailboxesRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_ListMailboxesResponse {
    let caller = try RouterCaller.current(currentNode: currentNode)
    guard caller.isAdmin else {
      throw OrchionError.permissionDenied("listing mailboxes needs an admin token")
    }
    return .with { $0.mailboxes = router.mailboxes() }
  }
}

/// The subscription a Subscribe call opened, shared by its reader, writer and cancellation.
private final class OpenedSubscription: Sendable {
  let value = Mutex<Subscription?>(nil)
}
