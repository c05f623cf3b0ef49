import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Starts `orchion server` on a free port and returns the process and its address.
func startServer(_ extraArguments: [String] = []) async throws -> (ChildProcess, ServerAddress) {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("orchion-test-\(UUID().uuidString)").path
  return try await Cluster.launchServer(
    directory: directory,
    arguments: ["--port", "0"] + extraArguments
  )
}

@Suite("orchion server (the real binary)")
struct ServerCommandTests {
  @Test("serves the API, and exits 0 on SIGTERM and on SIGINT", arguments: [SIGTERM, SIGINT])
  func gracefulSignals(signal: Int32) async throws {
    let (server, address) = try await startServer()
    try await withOrchionClient(server: address, token: testAdminToken) { client in
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      #expect(try await client.health.check(.init()).status == .serving)
    }
    server.signal(signal)
    #expect(try await server.waitForExit(timeout: .seconds(20)) == 0, "\(server.standardError)")
  }

  @Test("a health Watch in flight does not stop a SIGTERM shutdown")
  func shutdownWithOpenStream() async throws {
    let (server, address) = try await startServer()
    try await withOrchionClient(server: address, token: testAdminToken) { client in
      try await client.health.watch(.init()) { response in
        var iterator = response.messages.makeAsyncIterator()
        let first = try await iterator.next()?.status
        server.signal(SIGTERM)
        let second = try await iterator.next()?.status
        #expect(first == .serving)
        #expect(second == .notServing)
      }
    }
    #expect(try await server.waitForExit(timeout: .seconds(20)) == 0)
  }

  @Test("`orchion nodes` lists what the server knows", .timeLimit(.minutes(1)))
  func nodesCommand() async throws {
    let (server, address) = try await startServer(["--heartbeat-timeout", "1m"])
    try await withOrchionClient(server: address, token: testAdminToken) { client in
      _ = try await client.nodes.registerNode(
        .with {
          $0.nodeID = "gpu-box"
          $0.resources.cpuMillis = 16000
          $0.resources.memoryBytes = 64 << 30
          $0.resources.gpus = 2
        }
      )
    }
    let table = try ChildProcess(BuiltProducts.orchion, ["nodes", "--server", "\(address)"])
    #expect(try await table.waitForExit() == 0, "\(table.standardError)")
    #expect(table.standardOutput.contains("gpu-box"))
    #expect(table.standardOutput.contains("ACTIVE"))
    #expect(table.standardOutput.contains("64Gi"))

    let json = try ChildProcess(
      BuiltProducts.orchion,
      ["nodes", "-o", "json"],
      environment: ["ORCHION_SERVER": "\(address)"]
    )
    #expect(try await json.waitForExit() == 0, "\(json.standardError)")
    #expect(json.standardOutput.contains("\"id\":\"gpu-box\""))
    server.signal(SIGTERM)
    _ = try await server.waitForExit()
  }

  @Test(
    "bad flag values exit non-zero with a one-line message",
    arguments: [
      ["--heartbeat-timeout", "30"], ["--heartbeat-timeout", "fast"], ["--lost-after", "1x"],
      ["--port", "70000"], ["--heartbeat-timeout", "0s"], ["--strategy", "fastest"],
      ["--reserve-after", "soon"], ["agent", "--resource", "bad name=1"],
      ["agent", "--resource", "tool/claude=-1"], ["run", "--retry-on", "x", "--", "true"],
      ["run", "--strategy", "best", "--", "true"], ["--store", "ftp://host/db"],
      ["--store", "postgres://@host/db"], ["--store", "postgres://u@h:99999/db"],
      ["--leader-lease", "100ms"], ["--advertise-address", "host:0"],
      ["run", "--server", ",", "--", "true"], ["admin", "export", "--store", "memory"],
      ["--host", "0.0.0.0", "--no-auth"], ["--tls-cert", "/nonexistent/cert.pem"],
      ["--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"],
      ["--tls-client-ca", "/etc/hostname"], ["run", "--tls-cert", "/etc/hostname", "--", "true"],
      ["--token", "short-token"], ["--store", "memory", "--store-file", "/etc/hostname"],
      ["--store-file", "/nonexistent/store"], ["--store", "postgres://u@h/db?sslmode=bogus"],
      ["--store", "postgres://u@h/db?sslmode=require&connect_timeout=5"],
    ]
  )
  func badFlags(arguments: [String]) async throws {
    // Server flags unless the case names another subcommand.
    let command =
      ["agent", "run", "admin"].contains(arguments[0]) ? arguments : ["server"] + arguments
    let server = try ChildProcess(BuiltProducts.orchion, command)
    let status = try await server.waitForExit()
    #expect(status != 0)
    let errorLines = server.standardError.split(separator: "\n").filter { $0.hasPrefix("Error:") }
    #expect(errorLines.count == 1, "\(server.standardError)")
  }

  @Test(
    "an admin token shorter than 16 characters is refused at start, from --token or ORCHION_TOKEN",
    arguments: [(["--token", "fifteen-chars-x"], [:]), ([], ["ORCHION_TOKEN": "short"])]
  )
  func shortToken(arguments: [String], environment: [String: String]) async throws {
    let server = try ChildProcess(
      BuiltProducts.orchion,
      ["server", "--store", "memory", "--port", "0"] + arguments,
      environment: environment
    )
    #expect(try await server.waitForExit() != 0)
    #expect(server.standardError.contains("needs at least 16"), "\(server.standardError)")
  }

  @Test("durations accept 500ms, 30s and 1m")
  func durations() async throws {
    for value in ["500ms", "30s", "1m"] {
      let (server, _) = try await startServer(["--heartbeat-timeout", value, "--lost-after", value])
      server.signal(SIGTERM)
      #expect(try await server.waitForExit() == 0)
    }
  }

  @Test("a port in use is a clear error and a non-zero exit")
  func portInUse() async throws {
    let (first, address) = try await startServer()
    let second = try ChildProcess(
      BuiltProducts.orchion,
      ["server", "--port", "\(address.port)", "--http-port", "0", "--store", "memory"]
    )
    #expect(try await second.waitForExit() != 0)
    #expect(
      second.standardError.lowercased().contains("address already in use")
        || second.standardError.contains("bind"),
      "\(second.standardError)"
    )
    first.signal(SIGTERM)
    _ = try await first.waitForExit()
  }

  @Test("a PostgreSQL store that cannot be reached is a clear error and a non-zero exit")
  func unreachableStore() async throws {
    let server = try ChildProcess(
      BuiltProducts.orchion,
      ["server", "--port", "0", "--store", "postgres://orchion:secret@127.0.0.1:1/orchion"]
    )
    #expect(try await server.waitForExit() != 0)
    #expect(
      server.standardError.contains("PostgreSQL at postgres://orchion:***@127.0.0.1:1/orchion"),
      "\(server.standardError)"
    )
    #expect(!server.standardError.contains("secret"))
  }
}
