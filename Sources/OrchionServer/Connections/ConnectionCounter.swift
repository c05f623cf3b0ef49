import Synchronization

/// Counts open connections, in all and per address, and decides whether one more may open.
final class ConnectionCounter: Sendable {
  /// Why a connection was refused.
  enum Refusal: Equatable, Sendable {
    case tooManyInAll(limit: Int)
    case tooManyFromAddress(limit: Int)
  }

  private struct Counts {
    var total = 0
    var byAddress: [String: Int] = [:]
  }

  private let limits: ConnectionLimits
  private let counts = Mutex(Counts())

  init(limits: ConnectionLimits) {
    self.limits = limits
  }

  /// Counts a connection from `address` in, unless a limit is reached.
  /// - Returns: `nil` when admitted (release it with ``release(_:)``), else why not.
  func admit(_ address: String) -> Refusal? {
    counts.withLock { counts in
      guard counts.total < limits.maxConnections else {
        return .tooManyInAll(limit: limits.maxConnections)
      }
      let fromAddress = counts.byAddress[address, default: 0]
      guard fromAddress < limits.maxConnectionsPerAddress else {
        return .tooManyFromAddress(limit: limits.maxConnectionsPerAddress)
      }
      counts.total += 1
      counts.byAddress[address] = fromAddress + 1
      return nil
    }
  }

  /// Counts an admitted connection from `address` out.
  func release(_ address: String) {
    counts.withLock { counts in
      guard let fromAddress = counts.byAddress[address] else { return }
      counts.total -= 1
      counts.byAddress[address] = fromAddress > 1 ? fromAddress - 1 : nil
    }
  }

  /// Connections open now: in all, and from `address`.
  func open(from address: String) -> (total: Int, fromAddress: Int) {
    counts.withLock { ($0.total, $0.byAddress[address, default: 0]) }
  }
}
