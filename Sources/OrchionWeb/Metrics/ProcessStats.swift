import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The process's own figures, as Prometheus' client libraries export them on Linux: read from
/// `/proc/self` when scraped. Any that cannot be read is left out.
struct ProcessStats: Sendable {
  var cpuSeconds: Double?
  var residentBytes: Double?
  var openDescriptors: Double?
  var maxDescriptors: Double?
  var startTimeSeconds: Double?

  static func read() -> ProcessStats {
    var stats = ProcessStats()
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
    if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    {
      // After "pid (comm) ": state is field 3; utime 14, stime 15, starttime 22, rss 24.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      func field(_ number: Int) -> Double? {
        let index = number - 3
        return fields.indices.contains(index) ? Double(fields[index]) : nil
      }
      if ticks > 0, let user = field(14), let system = field(15) {
        stats.cpuSeconds = (user + system) / ticks
      }
      if let pages = field(24) { stats.residentBytes = pages * pageSize }
      if ticks > 0, let start = field(22), let boot = bootTime() {
        stats.startTimeSeconds = boot + start / ticks
      }
    }
    if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
      stats.openDescriptors = Double(entries.count)
    }
    var limit = rlimit()
    if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
      stats.maxDescriptors = Double(limit.rlim_cur)
    }
    return stats
  }

  /// When the machine booted, in seconds since the epoch (`btime` in /proc/stat).
  private static func bootTime() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
      return Double(line.dropFirst("btime ".count))
    }
    return nil
  }
}
