import OrchionCore
import Testing

@Suite("OrchionError")
struct OrchionErrorTests {
  @Test("a cause is kept, typed, and read after the message; the code stays the outer one")
  func cause() {
    let refused = OrchionError.storeUnavailable("PostgreSQL: connection refused")
    let lost = OrchionError.leaseLost("cannot renew the leader lease", cause: refused)
    #expect(lost.code == .leaseLost)
    #expect(lost.cause == refused)
    #expect(lost.cause?.code == .storeUnavailable)
    #expect(lost.fullMessage == "cannot renew the leader lease: PostgreSQL: connection refused")
    #expect(
      lost.description == "leaseLost: cannot renew the leader lease: PostgreSQL: connection refused"
    )
    #expect(refused.cause == nil)
    #expect(refused.fullMessage == refused.message)
  }

  @Test("errors differing only in their cause or field are different errors")
  func equality() {
    let plain = OrchionError.leaseLost("lost")
    #expect(plain != .leaseLost("lost", cause: .storeFull("disk full")))
    #expect(
      OrchionError.invalidArgument(field: "spec.name", "bad")
        != OrchionError.invalidArgument(field: "spec.env", "bad")
    )
    #expect(OrchionError.invalidArgument("bad").field == nil)
  }
}
