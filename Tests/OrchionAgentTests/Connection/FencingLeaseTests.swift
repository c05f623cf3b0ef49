import Testing

@testable import OrchionAgent

@Suite("Fencing lease budget")
struct FencingLeaseTests {
  @Test("with the defaults (30 s + 1 m) the lease and the full kill grace fit before the loss")
  func defaults() throws {
    let lease = try #require(FencingLease(fenceAfter: .seconds(90), killGrace: .seconds(10)))
    #expect(lease.killGrace == .seconds(10))
    #expect(lease.duration + lease.killGrace + FencingLease.margin == .seconds(90))
  }

  @Test(
    "SIGKILL always lands before the orchestrator may reassign, whatever the kill grace",
    arguments: [
      (Duration.seconds(2), Duration.seconds(2)), (.seconds(2), .zero), (.seconds(90), .seconds(600)),
      (.milliseconds(200), .seconds(5)), (.seconds(11), .seconds(10)),
    ]
  )
  func killLandsFirst(fenceAfter: Duration, killGrace: Duration) throws {
    let lease = try #require(FencingLease(fenceAfter: fenceAfter, killGrace: killGrace))
    #expect(lease.duration > .zero)
    #expect(lease.killGrace <= killGrace)
    #expect(lease.duration + lease.killGrace < fenceAfter)
  }

  @Test("an orchestrator that does not fence gives no lease")
  func noFence() {
    #expect(FencingLease(fenceAfter: .zero, killGrace: .seconds(1)) == nil)
  }
}

@Suite("Heartbeat probes")
struct HeartbeatProbesTests {
  @Test("an acknowledgement gives its heartbeat's send time and forgets the earlier ones")
  func acknowledged() {
    let probes = HeartbeatProbes()
    let first = probes.next(sentAt: 100)
    let second = probes.next(sentAt: 200)
    let third = probes.next(sentAt: 300)
    #expect([first, second, third] == [1, 2, 3])
    #expect(probes.acknowledged(second) == 200)
    // Older than the last one acknowledged, or never sent: no renewal.
    #expect(probes.acknowledged(first) == nil)
    #expect(probes.acknowledged(99) == nil)
    #expect(probes.acknowledged(0) == nil)
    #expect(probes.acknowledged(third) == 300)
  }

  @Test("unacknowledged heartbeats are remembered up to a bound")
  func bounded() {
    let probes = HeartbeatProbes()
    let first = probes.next(sentAt: 0)
    for index in 1...HeartbeatProbes.capacity { _ = probes.next(sentAt: Int64(index)) }
    #expect(probes.acknowledged(first) == nil)
  }
}
