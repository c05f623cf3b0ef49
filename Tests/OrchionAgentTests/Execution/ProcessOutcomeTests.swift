import Testing

@testable import OrchionAgent

@Suite("Process outcomes and backoff")
struct ProcessOutcomeTests {
  func record(_ tag: Character, _ value: Int32) -> [UInt8] {
    [tag.asciiValue ?? 0] + withUnsafeBytes(of: value) { Array($0) }
  }

  @Test("status records decode to exit codes, signals and start failures")
  func decode() {
    #expect(ProcessOutcome(records: record("S", 3 << 8)) == .exited(code: 3))
    #expect(ProcessOutcome(records: record("S", 0)) == .exited(code: 0))
    #expect(ProcessOutcome(records: record("S", 9)) == .signaled(9))
    #expect(
      ProcessOutcome(records: record("X", 2) + record("S", 127 << 8)) == .cannotExecute(errno: 2)
    )
    #expect(
      ProcessOutcome(records: record("C", 2) + record("S", 127 << 8))
        == .cannotChangeDirectory(errno: 2)
    )
    #expect(ProcessOutcome(records: []) == .unknown)
    #expect(ProcessOutcome.signaled(15).exitCode == 143)
  }

  @Test("backoff grows exponentially with full jitter and never exceeds its cap")
  func backoff() {
    var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
    var generator = SystemRandomNumberGenerator()
    for failure in 0..<20 {
      let delay = backoff.next(using: &generator)
      #expect(delay >= .zero)
      #expect(delay <= min(.seconds(2), .milliseconds(100) * (1 << min(failure, 20))))
    }
    backoff.reset()
    #expect(backoff.failures == 0)
  }
}
