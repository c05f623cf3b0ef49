import NIOCore
import NIOEmbedded
import Testing

@testable import OrchionServer

@Suite("Handshake deadline")
struct HandshakeDeadlineTests {
  /// An active channel with the handler, on an event loop whose time the test moves.
  private func channel() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
    let loop = EmbeddedEventLoop()
    let channel = EmbeddedChannel(
      handler: HandshakeDeadlineHandler(timeout: .seconds(10)),
      loop: loop
    )
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return (channel, loop)
  }

  private func bytes(_ count: Int) -> ByteBuffer {
    ByteBuffer(repeating: UInt8(ascii: "P"), count: count)
  }

  @Test("a connection that says nothing is closed at the deadline, not before")
  func silent() throws {
    let (channel, loop) = try channel()
    loop.advanceTime(by: .milliseconds(9_999))
    #expect(channel.isActive)
    loop.advanceTime(by: .milliseconds(1))
    #expect(!channel.isActive)
  }

  @Test("fewer bytes than the HTTP/2 preface do not save a connection")
  func partialPreface() throws {
    let (channel, loop) = try channel()
    try channel.writeInbound(bytes(HandshakeDeadlineHandler.prefaceLength - 1))
    loop.advanceTime(by: .seconds(10))
    #expect(!channel.isActive)
  }

  @Test("after the preface the handler passes the bytes on, leaves the pipeline and closes nothing")
  func preface() throws {
    let (channel, loop) = try channel()
    try channel.writeInbound(bytes(10))
    try channel.writeInbound(bytes(20))
    #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 10)
    #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 20)
    #expect(throws: (any Error).self) {
      try channel.pipeline.syncOperations.handler(type: HandshakeDeadlineHandler.self)
    }
    loop.advanceTime(by: .seconds(60))
    #expect(channel.isActive)
    _ = try channel.finish()
  }
}
