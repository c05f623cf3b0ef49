import OrchionCore
import OrchionTestSupport
import Testing

@Suite("Input validation")
struct ValidationTests {
  @Test(
    "node IDs: letters, digits, '.', '_', '-', 1-253 characters",
    arguments: [
      "a", "node-1", "gpu.box_2", String(repeating: "x", count: 253),
    ]
  )
  func validIDs(text: String) throws {
    #expect(try NodeID(validating: text).rawValue == text)
  }

  @Test(
    "node IDs: everything else is INVALID_ARGUMENT",
    arguments: [
      "", String(repeating: "x", count: 254), "a b", "a/b", "a\u{0}b", "a\nb", "ünïcode", "a:b",
      "\u{1B}[31m",
    ]
  )
  func invalidIDs(text: String) {
    do {
      _ = try NodeID(validating: text)
      Issue.record("accepted \(text.debugDescription)")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.field == "node_id")
      #expect(error.message.contains("node_id"))
      // Hostile input is escaped in the message, never echoed raw.
      #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 })
    }
  }

  @Test("labels: limits on entries, key length, key characters, value length, total bytes")
  func labelLimits() {
    let limits = StringMapLimits.labels
    func rejects(_ map: [String: String], _ fragment: String) {
      do {
        try limits.validate(map)
        Issue.record("accepted \(map.count) entries")
      } catch {
        #expect(error.code == .invalidArgument)
        #expect(error.field == "labels")
        #expect(error.message.contains(fragment), "\(error.message)")
      }
    }
    #expect(throws: Never.self) { try limits.validate(["orchion.io/os": "linux", "gpu": ""]) }
    rejects(Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "v") }), "at most 64")
    rejects([String(repeating: "k", count: 129): "v"], "key is 129 bytes")
    rejects(["": "v"], "must not be empty")
    rejects(["bad key": "v"], "may contain only")
    rejects(["k": String(repeating: "v", count: 257)], "value is 257 bytes")
    rejects(["k": "line\nbreak"], "control character")
    let big = Dictionary(
      uniqueKeysWithValues: (0..<64).map {
        ("k\($0)", String(repeating: "v", count: 256))
      }
    )
    rejects(big, "bytes in all")
  }

  @Test("resources must not be negative")
  func resources() {
    expectInvalid(field: "resources.cpu_millis") {
      try Resources(cpuMillis: -1).validate(field: "resources")
    }
    expectInvalid(field: "resources.memory_bytes") {
      try Resources(memoryBytes: -1).validate(field: "resources")
    }
    expectInvalid(field: "resources.gpus") {
      try Resources(gpus: -1).validate(field: "resources")
    }
    let negative = expectInvalid(field: "resources.extended") {
      try Resources(extended: ["tool/claude": -1]).validate(field: "resources")
    }
    #expect(negative.contains("'tool/claude'"), "\(negative)")
    let badName = expectInvalid(field: "resources.extended") {
      try Resources(extended: ["bad name": 1]).validate(field: "resources")
    }
    #expect(badName.contains("names are"), "\(badName)")
    #expect(throws: Never.self) {
      try Resources(cpuMillis: 2000, memoryBytes: 1 << 30, gpus: 1, extended: ["tool/claude": 4])
        .validate(field: "resources")
    }
  }

  @Test("registration: address bounded and free of control characters")
  func registration() {
    let long = expectInvalid(field: "address") {
      try NodeRegistration(address: String(repeating: "a", count: 256)).validate()
    }
    #expect(long.contains("256 bytes"), "\(long)")
    let control = expectInvalid(field: "address") {
      try NodeRegistration(address: "a\u{7}").validate()
    }
    #expect(control.contains("control characters"), "\(control)")
    expectInvalid(field: "slots") { try NodeRegistration(slots: -1).validate() }
    #expect(throws: Never.self) { try NodeRegistration(address: "10.0.0.1:7000").validate() }
  }

  @Test(
    "server addresses",
    arguments: [
      ("127.0.0.1:50051", "127.0.0.1", 50051), ("example.com", "example.com", 50051),
      ("[::1]:7", "::1", 7), ("host:1", "host", 1),
    ]
  )
  func serverAddresses(text: String, host: String, port: Int) throws {
    let address = try ServerAddress(parsing: text)
    #expect(address.host == host)
    #expect(address.port == port)
  }

  @Test(
    "bad server addresses",
    arguments: ["", ":80", "host:0", "host:65536", "host:x", "::1", "[::1"]
  )
  func badServerAddresses(text: String) {
    // A flag value, not a request field: the message names what was wrong.
    let message = expectInvalid(field: nil) { try ServerAddress(parsing: text) }
    #expect(message.contains("server address"), "\(message)")
  }

  @Test("a task spec's errors name the field as the API spells it, nested ones prefixed")
  func specFields() {
    expectInvalid(field: "spec.command") { try TaskSpec(command: [""]).validate() }
    expectInvalid(field: "spec.priority") { try TaskSpec(command: ["x"], priority: 101).validate() }
    expectInvalid(field: "spec.node_selector") {
      try TaskSpec(command: ["x"], nodeSelector: ["bad key": "v"]).validate()
    }
    expectInvalid(field: "spec.resources.gpus") {
      try TaskSpec(command: ["x"], resources: Resources(gpus: -1)).validate()
    }
  }
}
