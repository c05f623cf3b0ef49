import Foundation

/// A process's resident memory and CPU time, from /proc.
struct ProcessUsage {
  static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  var residentBytes: Int64
  var cpuTicks: Int64
  var parent: Int32
  /// The name the process gave itself (`comm`).
  var name: String

  init?(pid: Int32) {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let rssLine = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kilobytes = Int64(rssLine.split(separator: " ").dropFirst().first ?? ""),
      let beforeName = stat.firstIndex(of: "("),
      let afterName = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name: state is field 3, ppid 4, utime 14, stime 15 (1-based).
    let fields = stat[stat.index(after: afterName)...].split(separator: " ")
    guard fields.count > 12, let parent = Int32(fields[1]), let user = Int64(fields[11]),
      let system = Int64(fields[12])
    else {
      return nil
    }
    residentBytes = kilobytes * 1024
    cpuTicks = user + system
    self.parent = parent
    name = String(stat[stat.index(after: beforeName)..<afterName])
  }

  /// Proportional set size: resident memory with each shared page divided among the processes
  /// sharing it (the binary's code, the Swift runtime), from /proc/PID/smaps_rollup.
  static func proportionalBytes(of pid: Int32) -> Int64? {
    guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
      let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }),
      let kilobytes = Int64(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kilobytes * 1024
  }

  /// Live children of `parent` named `name`.
  static func children(of parent: Int32, named name: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry in
      guard let pid = Int32(entry), let usage = ProcessUsage(pid: pid),
        usage.parent == parent, usage.name == name
      else { return nil }
      return pid
    }
  }
}
