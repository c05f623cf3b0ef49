import NIOCore

/// Closes a connection that has not sent the HTTP/2 client preface within a deadline, then
/// steps out of the pipeline. It sits just before the HTTP/2 handler, so it sees plaintext
/// (after TLS): a peer that finishes TCP, or TLS, and then says nothing is cut off, not kept
/// until the idle timeout.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer

  /// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": every HTTP/2 client sends it first (RFC 9113 §3.4).
  static let prefaceLength = 24

  private let timeout: TimeAmount
  private var deadline: Scheduled<Void>?
  private var received = 0

  init(timeout: TimeAmount) {
    self.timeout = timeout
  }

  func handlerAdded(context: ChannelHandlerContext) {
    deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
      context.close(promise: nil)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    received += unwrapInboundIn(data).readableBytes
    context.fireChannelRead(data)
    if received >= Self.prefaceLength, deadline != nil {
      deadline?.cancel()
      deadline = nil
      context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
    context.fireChannelInactive()
  }
}
