import Foundation
import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// What this machine offers, measured when the agent starts.
enum CapacityProbe {
  /// CPUs in millicores, physical memory, and GPUs that `nvidia-smi -L` lists.
  static func resources() -> Resources {
    let cpus = max(1, Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    let pages = Int64(sysconf(Int32(_SC_PHYS_PAGES)))
    let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
    return Resources(
      cpuMillis: cpus * 1000,
      memoryBytes: max(0, pages * pageSize),
      gpus: nvidiaGPUCount()
    )
  }

  /// Number of CPUs online.
  static var cpuCount: Int32 { Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// Facts as labels: `orchion.io/os`, `orchion.io/arch`, `orchion.io/hostname`.
  static func labels() -> [String: String] {
    var system = utsname()
    uname(&system)
    let machine = withUnsafeBytes(of: &system.machine) { bytes in
      String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
    #if os(Linux)
      let os = "linux"
    #else
      let os = "darwin"
    #endif
    return [
      "orchion.io/os": os,
      "orchion.io/arch": machine,
      "orchion.io/hostname": String(ProcessInfo.processInfo.hostName.prefix(253)),
    ]
  }

  /// GPUs `nvidia-smi -L` lists; 0 when it is not installed or fails.
  static func nvidiaGPUCount() -> Int32 {
    guard
      let path = ExecutablePath.resolve(
        "nvidia-smi",
        path: ProcessInfo.processInfo.environment["PATH"]
      )
    else {
      return 0
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["-L"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return 0
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return 0 }
    return Int32(
      String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("GPU ") }
        .count
    )
  }
}
