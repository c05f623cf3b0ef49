extension Resources {
  /// The sum of two amounts, saturating instead of overflowing.
  public static func + (lhs: Resources, rhs: Resources) -> Resources {
    var extended = lhs.extended
    for (name, amount) in rhs.extended {
      extended[name] =
        (extended[name] ?? 0).addingReportingOverflow(amount).overflow
        ? .max : (extended[name] ?? 0) + amount
    }
    return Resources(
      cpuMillis: lhs.cpuMillis.saturatingAdd(rhs.cpuMillis),
      memoryBytes: lhs.memoryBytes.saturatingAdd(rhs.memoryBytes),
      gpus: Int32(clamping: Int64(lhs.gpus) + Int64(rhs.gpus)),
      extended: extended
    )
  }

  /// What is left of `lhs` after `rhs`, never below zero.
  public static func - (lhs: Resources, rhs: Resources) -> Resources {
    var extended = lhs.extended
    for (name, amount) in rhs.extended {
      let left = max(0, (extended[name] ?? 0) - amount)
      extended[name] = left == 0 ? nil : left
    }
    return Resources(
      cpuMillis: max(0, lhs.cpuMillis - rhs.cpuMillis),
      memoryBytes: max(0, lhs.memoryBytes - rhs.memoryBytes),
      gpus: max(0, lhs.gpus - rhs.gpus),
      extended: extended
    )
  }

  /// Whether this request fits in `available`, every kind of resource at once.
  public func fits(in available: Resources) -> Bool {
    guard cpuMillis <= available.cpuMillis, memoryBytes <= available.memoryBytes,
      gpus <= available.gpus
    else { return false }
    return extended.allSatisfy { name, amount in amount <= (available.extended[name] ?? 0) }
  }
}

extension Resources {
  /// Whether this request fits in `capacity` with `allocated` already taken, without building
  /// the difference (the scheduler's innermost check).
  @inlinable
  public func fits(in capacity: Resources, besides allocated: Resources) -> Bool {
    guard cpuMillis <= capacity.cpuMillis - allocated.cpuMillis,
      memoryBytes <= capacity.memoryBytes - allocated.memoryBytes,
      gpus <= capacity.gpus - allocated.gpus
    else { return false }
    if extended.isEmpty { return true }
    return extended.allSatisfy { name, amount in
      amount <= (capacity.extended[name] ?? 0) - (allocated.extended[name] ?? 0)
    }
  }
}

extension Int64 {
  fileprivate func saturatingAdd(_ other: Int64) -> Int64 {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? (other > 0 ? .max : .min) : sum
  }
}
