import Logging
import NIOCore
import NIOHTTP2
import OrchionCore
import Synchronization

/// Admits each accepted TCP connection (the transport's accept hook), or closes it at once
/// when a connection limit is reached, and gives admitted ones a deadline for the HTTP/2
/// preface. Logs refusals at most once per ``warningInterval``: a flood must not also flood
/// the log.
final class ConnectionGuard: Sendable {
  private let limits: ConnectionLimits
  private let counter: ConnectionCounter
  private let clock: any WallClock
  private let logger: Logger
  private let lastWarning = Mutex<UTCInstant?>(nil)
  private static let warningInterval = Duration.seconds(60)

  init(limits: ConnectionLimits, clock: any WallClock, logger: Logger) {
    self.limits = limits
    self.counter = ConnectionCounter(limits: limits)
    self.clock = clock
    self.logger = logger
  }

  /// Called on the connection's event loop once the transport has configured its pipeline.
  func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
    let address = channel.remoteAddress?.ipAddress ?? "unknown"
    if let refusal = counter.admit(address) {
      warn(refusal, address: address)
      channel.close(promise: nil)
      return channel.eventLoop.makeFailedFuture(ConnectionRefused(refusal: refusal))
    }
    channel.closeFuture.whenComplete { [counter] _ in counter.release(address) }
    return channel.eventLoop.makeCompletedFuture {
      let pipeline = channel.pipeline.syncOperations
      let http2 = try pipeline.handler(type: NIOHTTP2Handler.self)
      try pipeline.addHandler(
        HandshakeDeadlineHandler(timeout: TimeAmount(limits.handshakeTimeout)),
        position: .before(http2)
      )
    }
  }

  private func warn(_ refusal: ConnectionCounter.Refusal, address: String) {
    let now = clock.now
    let due = lastWarning.withLock { last in
      if let last, last.duration(to: now) < Self.warningInterval { return false }
      last = now
      return true
    }
    guard due else { return }
    let reason =
      switch refusal {
      case .tooManyInAll(let limit): "\(limit) connections are open in all"
      case .tooManyFromAddress(let limit): "\(limit) connections are open from \(address)"
      }
    logger.warning(
      "refusing connections: \(reason); further refusals in the next minute are not logged",
      metadata: ["peer": "\(address)"]
    )
  }
}

/// A connection closed by ``ConnectionGuard`` at accept.
struct ConnectionRefused: Error {
  let refusal: ConnectionCounter.Refusal
}
