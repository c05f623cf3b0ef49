/// A binary min-heap of deadlines, so the earliest can be found in O(1) and removed in O(log n).
///
/// The heartbeat monitor keeps one entry per node here instead of scanning every node on every
/// tick: a tick only looks at the entries that are due.
public struct DeadlineHeap<Key: Hashable & Sendable>: Sendable {
  /// One scheduled deadline.
  public struct Entry: Sendable {
    /// When the entry is due.
    public var deadline: UTCInstant
    /// What is due.
    public var key: Key
  }

  private var storage: [Entry] = []

  /// Creates an empty heap.
  public init() {}

  /// The number of entries.
  public var count: Int { storage.count }

  /// The earliest entry, if any.
  public var first: Entry? { storage.first }

  /// Adds an entry.
  /// - Parameters:
  ///   - key: What is due.
  ///   - deadline: When it is due.
  public mutating func push(_ key: Key, at deadline: UTCInstant) {
    storage.append(Entry(deadline: deadline, key: key))
    siftUp(from: storage.count - 1)
  }

  /// Removes and returns the earliest entry, if any.
  public mutating func popFirst() -> Entry? {
    guard !storage.isEmpty else { return nil }
    storage.swapAt(0, storage.count - 1)
    let first = storage.removeLast()
    if !storage.isEmpty { siftDown(from: 0) }
    return first
  }

  private mutating func siftUp(from index: Int) {
    var child = index
    while child > 0 {
      let parent = (child - 1) / 2
      guard storage[child].deadline < storage[parent].deadline else { return }
      storage.swapAt(child, parent)
      child = parent
    }
  }

  private mutating func siftDown(from index: Int) {
    var parent = index
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var smallest = parent
      if left < storage.count, storage[left].deadline < storage[smallest].deadline {
        smallest = left
      }
      if right < storage.count, storage[right].deadline < storage[smallest].deadline {
        smallest = right
      }
      guard smallest != parent else { return }
      storage.swapAt(parent, smallest)
      parent = smallest
    }
  }
}
