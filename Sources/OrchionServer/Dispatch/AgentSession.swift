import OrchionAPI
import OrchionCore
import OrchionWire

/// One agent's live `Connect` stream, as the dispatcher sees it: a queue of messages to send.
final class AgentSession: Sendable {
  /// Distinguishes a node's successive streams, so an old one ending does not detach a new one.
  let id: UInt64
  let node: NodeID
  private let outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation

  /// Creates a session that queues messages into `outbound`, which the RPC handler writes out.
  /// An unbounded queue is safe: what flows down is assignments (bounded by the node's slots),
  /// stops, and acks (one per message the agent sent, which the agent itself bounds).
  init(id: UInt64, node: NodeID, outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation) {
    self.id = id
    self.node = node
    self.outbound = outbound
  }

  /// Queues a message; false when the stream has ended.
  @discardableResult
  func send(_ message: Orchion_V1_ServerMessage) -> Bool {
    if case .enqueued = outbound.yield(message) { return true }
    return false
  }

  /// Ends the stream: the handler writing it returns, which ends the RPC.
  func close() {
    outbound.finish()
  }
}
