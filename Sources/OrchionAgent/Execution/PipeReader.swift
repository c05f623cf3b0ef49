import NIOCore
import NIOPosix

/// Reads a pipe to its end on NIO's event loops, handing over buffers as they come.
///
/// NIO stops reading while the consumer is busy, so a slow consumer (the outbox waiting for
/// acknowledgements) makes the task block on its writes instead of growing a buffer.
enum PipeReader {
  /// Reads `descriptor` (taking ownership of it) until end of file.
  static func read(
    _ descriptor: CInt,
    _ consume: (ByteBuffer) async throws -> Void
  ) async throws {
    let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .takingOwnershipOfDescriptor(input: descriptor) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    try await channel.executeThenClose { inbound, _ in
      for try await buffer in inbound { try await consume(buffer) }
    }
  }
}
