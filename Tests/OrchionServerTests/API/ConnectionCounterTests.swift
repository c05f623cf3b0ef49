import Testing

@testable import OrchionServer

@Suite("Connection limits")
struct ConnectionCounterTests {
  let limits = ConnectionLimits(
    maxConnections: 5,
    maxConnectionsPerAddress: 3,
    handshakeTimeout: .seconds(10)
  )

  @Test("one address is refused past its limit; others are not, until the total is reached")
  func perAddressThenTotal() {
    let counter = ConnectionCounter(limits: limits)
    for _ in 0..<3 { #expect(counter.admit("10.0.0.1") == nil) }
    #expect(counter.admit("10.0.0.1") == .tooManyFromAddress(limit: 3))
    #expect(counter.admit("10.0.0.2") == nil)
    #expect(counter.admit("10.0.0.3") == nil)
    #expect(counter.admit("10.0.0.4") == .tooManyInAll(limit: 5))
    #expect(counter.open(from: "10.0.0.1") == (total: 5, fromAddress: 3))
  }

  @Test("a released connection makes room again; releasing what was never admitted changes nothing")
  func release() {
    let counter = ConnectionCounter(limits: limits)
    for _ in 0..<3 { #expect(counter.admit("10.0.0.1") == nil) }
    counter.release("10.0.0.9")
    #expect(counter.admit("10.0.0.1") != nil)
    counter.release("10.0.0.1")
    #expect(counter.admit("10.0.0.1") == nil)
    for _ in 0..<3 { counter.release("10.0.0.1") }
    #expect(counter.open(from: "10.0.0.1") == (total: 0, fromAddress: 0))
    counter.release("10.0.0.1")
    #expect(counter.open(from: "10.0.0.1") == (total: 0, fromAddress: 0))
  }
}
