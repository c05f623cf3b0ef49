import Foundation
import OrchionCore
import Synchronization

/// Bounds node registrations per caller address (a token bucket each): a misbehaving or hostile
/// client cannot flood the registry, while a whole rack of agents behind one NAT that restart
/// together still gets in, a burst at a time (agents retry with backoff).
final class RegistrationLimiter: Sendable {
  private struct Bucket {
    var tokens: Double
    var updated: UTCInstant
  }

  private let rate: Double
  private let burst: Double
  private let clock: any WallClock
  private let buckets = Mutex<[String: Bucket]>([:])
  /// Most callers tracked; beyond it full buckets are dropped (they hold no information).
  static let maxTrackedPeers = 10_000

  /// - Parameters:
  ///   - perSecond: Registrations refilled per second per address.
  ///   - burst: Registrations an address may make at once.
  init(perSecond: Double, burst: Int, clock: any WallClock) {
    rate = perSecond
    self.burst = Double(burst)
    self.clock = clock
  }

  /// Takes one registration from `peer`'s bucket.
  /// - Parameter peer: grpc-swift's peer description, e.g. `ipv4:10.0.0.2:53122`.
  /// - Throws: `resourceExhausted` when the bucket is empty.
  func admit(peer: String) throws(OrchionError) {
    let address = Self.address(of: peer)
    let now = clock.now
    let admitted = buckets.withLock { buckets in
      var bucket = buckets[address] ?? Bucket(tokens: burst, updated: now)
      let elapsed = Double(bucket.updated.duration(to: now).nanoseconds) / 1e9
      bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * rate)
      bucket.updated = now
      guard bucket.tokens >= 1 else {
        buckets[address] = bucket
        return false
      }
      bucket.tokens -= 1
      buckets[address] = bucket
      if buckets.count > Self.maxTrackedPeers {
        // A bucket that has refilled holds nothing a new one would not: forget it.
        buckets = buckets.filter { _, bucket in
          let idle = Double(bucket.updated.duration(to: now).nanoseconds) / 1e9
          return bucket.tokens + max(0, idle) * rate < burst
        }
      }
      return true
    }
    guard admitted else {
      throw .resourceExhausted(
        "too many node registrations from \(address): at most \(Int(burst)) at once and \(rate)/s after; retry later"
      )
    }
  }

  /// The caller's IP address without its port (all connections of one machine share a bucket).
  static func address(of peer: String) -> String {
    var text = Substring(peer)
    for prefix in ["ipv4:", "ipv6:"] where text.hasPrefix(prefix) {
      text = text.dropFirst(prefix.count)
    }
    if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
    return String(text.trimmingCharacters(in: ["[", "]"]))
  }
}
