/// How much the router holds and how long, so a slow or absent receiver cannot exhaust the
/// orchestrator: beyond a bound a send is refused (RESOURCE_EXHAUSTED) and the sender backs off.
struct RouterLimits: Sendable {
  /// Largest payload, in bytes.
  var maxPayloadBytes = 1 << 20
  /// Most messages one mailbox holds (waiting and unacknowledged).
  var maxMessagesPerMailbox = 10_000
  /// Most bytes one mailbox holds.
  var maxBytesPerMailbox = 64 << 20
  /// Most bytes all mailboxes hold together.
  var maxTotalBytes = 512 << 20
  /// Bytes each message counts for beyond its payload and headers (its IDs, sender, times and
  /// the router's bookkeeping, ~200 bytes in memory): empty messages are not free.
  var messageOverheadBytes = 256
  /// Most mailboxes at once; a named topic consumer's counts while it is away. A message or
  /// subscription that would open one more is refused.
  var maxMailboxes = 10_000
  /// How long a named topic consumer that went away is remembered (its copies kept, within
  /// the mailbox bound); after that it is forgotten with what waits for it.
  var awayConsumerRetention = Duration.seconds(14 * 86_400)
  /// TTL when the sender gives none, and the range allowed.
  var defaultTTL = Duration.seconds(86_400)
  var minTTL = Duration.seconds(1)
  var maxTTL = Duration.seconds(14 * 86_400)
  /// Unacknowledged deliveries per subscription when the subscriber does not say, and at most.
  var defaultMaxInFlight = 256
  var maxInFlight = 10_000
  /// Ack timeout when the subscriber gives none, and the range allowed.
  var defaultAckTimeout = Duration.seconds(30)
  var minAckTimeout = Duration.seconds(1)
  var maxAckTimeout = Duration.seconds(3_600)

  static let defaults = RouterLimits()

  /// The defaults with other mailbox bounds.
  static func defaults(maxMessagesPerMailbox: Int, maxMailboxes: Int) -> RouterLimits {
    var limits = RouterLimits()
    limits.maxMessagesPerMailbox = maxMessagesPerMailbox
    limits.maxMailboxes = maxMailboxes
    return limits
  }
}
