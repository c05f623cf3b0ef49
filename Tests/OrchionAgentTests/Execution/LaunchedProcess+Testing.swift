import Foundation

@testable import OrchionAgent

#if canImport(Glibc)
  import Glibc
#endif

extension LaunchedProcess {
  /// Reads the descriptor to its end on a thread of its own (a blocking read must not take one
  /// of the few cooperative threads), then closes it.
  static func readToEnd(_ descriptor: CInt) async -> [UInt8] {
    await withCheckedContinuation { continuation in
      Thread {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
          let count = read(descriptor, &buffer, buffer.count)
          if count <= 0 { break }
          bytes += buffer[0..<count]
        }
        close(descriptor)
        continuation.resume(returning: bytes)
      }.start()
    }
  }

  /// Waits for the process to end (its status pipe at end of file): its standard output and
  /// how it ended. Consumes every descriptor.
  func finish() async -> (output: String, outcome: ProcessOutcome) {
    async let output = Self.readToEnd(standardOutput)
    async let errors = Self.readToEnd(standardError)
    let records = await Self.readToEnd(status)
    _ = await errors
    return (String(decoding: await output, as: UTF8.self), ProcessOutcome(records: records))
  }
}
