#if canImport(Glibc)
  import Glibc
#endif

/// The process's limit on open descriptors.
public enum FileDescriptorLimit {
  /// The soft limit now (what `open` and `accept` are held to).
  public static var current: Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    return limit.rlim_cur > UInt(Int.max) ? Int.max : Int(limit.rlim_cur)
  }

  /// Raises the soft limit to the hard one (which only root could raise further).
  public static func raiseToHardLimit() {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
  }
}
