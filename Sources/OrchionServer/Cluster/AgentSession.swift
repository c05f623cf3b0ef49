import OrchionAPI
import OrchionCore
import OrchionWire

/// One agent's live `Connect` stream, as the dispatcher sees it: a queue of messages to send.
final class AgentSession: Sendable {
  /// Distinguishes a node's successive streams, so an old one ending does not detach a new one.
  let id: SessionID
  let node: NodeID
  private let outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation

  /// Most messages queued for one agent. What flows down is assignments (bounded by the node's
  /// slots), stops, and acks (one per message the agent sent); only an agent that sends without
  /// reading fills it, and that agent is disconnected rather than let grow the server's memory.
  static let maxQueuedMessages = 10_000

  /// Creates a session that queues messages into `outbound` (buffering at most
  /// ``maxQueuedMessages``, oldest kept), which the RPC handler writes out.
  init(id: SessionID, node: NodeID, outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation) {
    self.id = id
    self.node = node
    self.outbound = outbound
  }

  /// Queues a message; false when the stream has ended, or has just been ended because the
  /// agent stopped reading (its queue was full).
  @discardableResult
  func send(_ message: Orchion_V1_ServerMessage) -> Bool {
    switch outbound.yield(message) {
    case .enqueued:
      return true
    case .dropped:
      outbound.finish()
      return false
    case .terminated:
      return false
    @unknown default:
      return false
    }
  }

  /// Ends the stream: the handler writing it returns, which ends the RPC.
  func close() {
    outbound.finish()
  }
}
