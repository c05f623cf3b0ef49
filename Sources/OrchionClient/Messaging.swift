public import Foundation
public import GRPCCore
public import OrchionAPI
import OrchionWire
import SwiftProtobuf
import Synchronization

extension OrchionClient {
  /// `orchion.v1.RouterService`.
  public var router: Orchion_V1_RouterService.Client<Transport> {
    .init(wrapping: grpc)
  }

  /// Sends one message to `address` (`task/ID`, `node/ID`, `topic/NAME`, `queue/NAME`).
  /// - Returns: Its ID, once the orchestrator keeps it.
  public func send(
    to address: String,
    payload: Data,
    headers: [String: String] = [:],
    ttl: Duration? = nil
  ) async throws -> String {
    try await router.send(
      .with {
        $0.to = address
        $0.payload = payload
        $0.headers = headers
        if let ttl { $0.ttl = .init(ttl) }
      }
    ).messageID
  }

  /// Sends messages in order over one stream, without waiting for each: as fast as the
  /// orchestrator commits. `produce` writes the requests; `accepted` hears each message's ID,
  /// in order, once it is kept.
  /// - Throws: The status of the first message refused; none after it was accepted, so
  ///   resending from there keeps the order.
  public func sendPipelined(
    _ produce: @escaping @Sendable (RPCWriter<Orchion_V1_SendRequest>) async throws -> Void,
    accepted: @escaping @Sendable (String) -> Void
  ) async throws {
    try await router.sendStream(requestProducer: produce) { response in
      for try await answer in response.messages { accepted(answer.messageID) }
    }
  }

  /// Receives the messages of `address`, calling `handle` with each delivery.
  ///
  /// `handle` returns whether to go on. A delivery is acknowledged when `handle` returns
  /// (unless `acknowledge` is false); when it returns false the acknowledgements are flushed
  /// and the subscription ends, so whatever else was delivered meanwhile goes back to the
  /// mailbox for the next receiver.
  /// - Parameters:
  ///   - consumer: For topics, a name that keeps messages while away ("" for none).
  ///   - maxInFlight: Deliveries outstanding at once (0: the orchestrator's default, 256).
  ///   - ackTimeout: Unacknowledged this long, a delivery is made again (nil: 30 s).
  ///   - subscribed: Called once the subscription is open.
  public func receive(
    from address: String,
    consumer: String = "",
    maxInFlight: UInt32 = 0,
    ackTimeout: Duration? = nil,
    acknowledge: Bool = true,
    subscribed: @escaping @Sendable (Orchion_V1_Subscribed) -> Void = { _ in },
    handle: @escaping @Sendable (Orchion_V1_Delivery) async throws -> Bool
  ) async throws {
    let acks = AckBuffer()
    let open = Orchion_V1_SubscribeRequest.with {
      $0.open = .with {
        $0.address = address
        $0.consumer = consumer
        $0.maxInFlight = maxInFlight
        if let ackTimeout { $0.ackTimeout = .init(ackTimeout) }
      }
    }
    try await router.subscribe(
      requestProducer: { writer in
        try await writer.write(open)
        // Whatever was acknowledged meanwhile goes in one request: under load, one
        // acknowledgement per message would cost the orchestrator as much as the messages.
        for await _ in acks.ready {
          for batch in acks.take() {
            try await writer.write(.with { $0.ack = .with { $0.deliveryIds = batch } })
          }
        }
        for batch in acks.take() {
          try await writer.write(.with { $0.ack = .with { $0.deliveryIds = batch } })
        }
        // Closing our side after the last acknowledgement ends the subscription cleanly.
      },
      onResponse: { response in
        var going = true
        for try await message in response.messages {
          switch message.kind {
          case .subscribed(let info):
            subscribed(info)
          case .delivery(let delivery):
            guard going else { continue }
            going = try await handle(delivery)
            if acknowledge { acks.add(delivery.deliveryID) }
            if !going { acks.finish() }
          case .none:
            continue
          }
        }
        acks.finish()
      }
    )
  }
}

/// Delivery IDs waiting to be acknowledged, taken in batches by the request writer.
private final class AckBuffer: Sendable {
  /// Most IDs per acknowledgement (the orchestrator's limit).
  static let maxBatch = 10_000
  private let ids = Mutex<[String]>([])
  /// Wakes the writer; wake-ups coalesce.
  let ready: AsyncStream<Void>
  private let wake: AsyncStream<Void>.Continuation

  init() {
    (ready, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  func add(_ id: String) {
    ids.withLock { $0.append(id) }
    wake.yield()
  }

  /// No more IDs will come: the writer takes the rest and stops.
  func finish() { wake.finish() }

  /// Everything waiting, in batches the orchestrator accepts.
  func take() -> [[String]] {
    let all = ids.withLock { ids in
      defer { ids.removeAll(keepingCapacity: true) }
      return ids
    }
    return stride(from: 0, to: all.count, by: Self.maxBatch).map {
      Array(all[$0..<min($0 + Self.maxBatch, all.count)])
    }
  }
}
