import Foundation
import OrchionCore
import Synchronization

/// A token bucket per key (a join token's ID, a caller's address): bounds how often each may do
/// something while the keys together are unbounded in number only up to ``maxTracked``.
final class RateLimiter: Sendable {
  private struct Bucket {
    var tokens: Double
    var updated: UTCInstant
  }

  private let rate: Double
  private let burst: Double
  private let clock: any WallClock
  private let buckets = Mutex<[String: Bucket]>([:])
  /// Most keys tracked; beyond it full buckets are dropped (they hold no information).
  static let maxTracked = 10_000

  /// - Parameters:
  ///   - perSecond: Refilled per second per key.
  ///   - burst: What one key may take at once.
  init(perSecond: Double, burst: Int, clock: any WallClock) {
    rate = perSecond
    self.burst = Double(burst)
    self.clock = clock
  }

  /// Takes one from `key`'s bucket.
  /// - Returns: `false` when the bucket is empty (nothing was taken).
  func admit(_ key: String) -> Bool {
    let now = clock.now
    return buckets.withLock { buckets in
      var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
      let elapsed = Double(bucket.updated.duration(to: now).nanoseconds) / 1e9
      bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * rate)
      bucket.updated = now
      guard bucket.tokens >= 1 else {
        buckets[key] = bucket
        return false
      }
      bucket.tokens -= 1
      buckets[key] = bucket
      if buckets.count > Self.maxTracked {
        // A bucket that has refilled holds nothing a new one would not: forget it.
        buckets = buckets.filter { _, bucket in
          let idle = Double(bucket.updated.duration(to: now).nanoseconds) / 1e9
          return bucket.tokens + max(0, idle) * rate < burst
        }
      }
      return true
    }
  }

  /// Whether `key`'s bucket is empty now, without taking from it.
  func isExhausted(_ key: String) -> Bool {
    let now = clock.now
    return buckets.withLock { buckets in
      guard let bucket = buckets[key] else { return false }
      let elapsed = Double(bucket.updated.duration(to: now).nanoseconds) / 1e9
      return bucket.tokens + max(0, elapsed) * rate < 1
    }
  }

  /// What the limit is, for error messages.
  var description: String { "at most \(Int(burst)) at once and \(rate)/s after" }

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
