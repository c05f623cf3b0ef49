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

/// Joining a machine with one line: `curl …/install.sh | sh -s -- --server … --token …`
/// against a real orchestrator, into a scratch prefix, over HTTP and over HTTPS with the CA
/// pinned; a download altered on its way is refused.
@Suite("Install script", .serialized)
struct InstallScriptTests {
  /// Runs `line` (a shell pipeline) with a home of its own; returns the shell process.
  static func shell(_ line: String, home: String) throws -> ChildProcess {
    try ChildProcess("/bin/sh", ["-c", line], environment: ["HOME": home, "ORCHION_TOKEN": ""])
  }

  /// Kills the agent the pipeline started (a grandchild of the shell: it outlives it).
  static func killAgent(_ id: String) {
    for pid in processes(containing: "--id \(id)") { kill(pid, SIGKILL) }
  }

  /// How long an install may take: it moves the whole (debug, 250 MiB) executable through
  /// the orchestrator's HTTP server, checksums and copies it, on a machine running the rest of
  /// the suite in parallel.
  static let installTimeout = Duration.seconds(180)

  static func scratch(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-install-\(name)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test("curl | sh installs the orchestrator's own binary, checksum verified, and the agent joins and runs a task")
  func joinOverHTTP() async throws {
    try await Cluster.with { cluster in
      let base = try await cluster.dashboardURL()
      let created = try await cluster.orchion(["token", "create", "--join"])
      let join = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      let prefix = try Self.scratch("http")
      let http = HTTPTestClient(base: base)
      let script = try await http.send("GET", "/install.sh")
      #expect(script.status == 200)
      #expect(script.body.hasPrefix("#!/bin/sh"))
      #expect(!script.body.contains(join), "the token is never in what the server sends")
      // curl, not the test's client: the body is the whole executable.
      let headers = try ChildProcess(
        "/usr/bin/curl", ["-sS", "-D", "-", "-o", "/dev/null", "\(base)/download/orchion-linux-\(Self.machine)"])
      #expect(try await headers.waitForExit(timeout: Self.installTimeout) == 0)
      let advertised = try #require(
        headers.standardOutput.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-orchion-sha256:") }
          .map { String($0.dropFirst("x-orchion-sha256:".count)).trimmingCharacters(in: .whitespaces) },
        "\(headers.standardOutput)"
      )
      #expect(script.body.contains("expected='\(advertised)'"))
      #expect(try await http.send("GET", "/download/orchion-linux-sparc").status == 404)

      let installer = try Self.shell(
        "curl -fsSL \(base)/install.sh | sh -s -- --server \(cluster.address) --token \(join) --dir \(prefix)/bin --data-dir \(prefix)/agent -- --id joined-http",
        home: prefix + "/home"
      )
      defer {
        installer.signal(SIGKILL)
        Self.killAgent("joined-http")
      }
      try await cluster.waitForActiveNodes(["joined-http"], timeout: Self.installTimeout)
      #expect(installer.standardError.contains("installed \(prefix)/bin/orchion"), "\(installer.standardError)")
      let installed = try await Self.sha256(prefix + "/bin/orchion")
      #expect(installed == advertised)
      let running = try await Self.sha256(BuiltProducts.orchion)
      #expect(installed == running, "the binary the orchestrator runs")
      let tokenFile = prefix + "/agent/join.token"
      let mode = try FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? Int
      #expect(mode == 0o600)
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit {
          $0.command = ["echo", "ran on the joined machine"]
          $0.nodeID = "joined-http"
        }
        let ended = try await client.waitFor(task.id)
        #expect(ended.state == .succeeded && ended.nodeID == "joined-http")
        #expect(try await client.output(task.id).stdout == "ran on the joined machine\n")
      }
    }
  }

  @Test("--service installs the agent as a systemd service: the unit names the token's file, never the token")
  func service() async throws {
    try await Cluster.with { cluster in
      let base = try await cluster.dashboardURL()
      let prefix = try Self.scratch("service")
      let installer = try Self.shell(
        "curl -fsSL \(base)/install.sh | sh -s -- --server \(cluster.address) --token join.secret-value-123 --dir \(prefix)/bin --data-dir \(prefix)/agent --service --unit-dir \(prefix)/units -- --label rack=r7",
        home: prefix + "/home"
      )
      #expect(try await installer.waitForExit(timeout: Self.installTimeout) == 0, "\(installer.standardError)")
      let unit = try String(contentsOfFile: prefix + "/units/orchion-agent.service", encoding: .utf8)
      #expect(unit.contains("\(prefix)/bin/orchion"), "runs the installed binary:\n\(unit)")
      #expect(unit.contains("\(prefix)/agent/service.config"))
      #expect(unit.contains("rack=r7"))
      #expect(!unit.contains("secret-value-123"), "no token in the unit")
      let config = try String(contentsOfFile: prefix + "/agent/service.config", encoding: .utf8)
      #expect(config.contains("join.secret-value-123"))
    }
  }

  @Test("a download that does not match the script's checksum is refused and nothing is installed")
  func tamperedDownload() async throws {
    try await Cluster.with { cluster in
      let base = try await cluster.dashboardURL()
      let prefix = try Self.scratch("tamper")
      // A server in the middle hands out another binary under the same name.
      let mirror = prefix + "/mirror"
      try FileManager.default.createDirectory(atPath: mirror + "/download", withIntermediateDirectories: true)
      try Data("#!/bin/sh\necho pwned\n".utf8).write(
        to: URL(fileURLWithPath: mirror + "/download/orchion-linux-\(Self.machine)"))
      let port = try freePort()
      let python = try ChildProcess(
        "/usr/bin/env", ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", mirror])
      defer { python.signal(SIGKILL) }
      try await eventually(timeout: .seconds(20)) {
        (try? await HTTPTestClient(base: "http://127.0.0.1:\(port)").send("GET", "/")) != nil
      }
      let script = try await HTTPTestClient(base: base).send("GET", "/install.sh").body
      let redirected = script.replacingOccurrences(of: "base='\(base)'", with: "base='http://127.0.0.1:\(port)'")
      #expect(redirected != script)
      try Data(redirected.utf8).write(to: URL(fileURLWithPath: prefix + "/install.sh"))
      let installer = try Self.shell(
        "sh \(prefix)/install.sh --server \(cluster.address) --token x.y --dir \(prefix)/bin --no-start",
        home: prefix + "/home"
      )
      #expect(try await installer.waitForExit(timeout: Self.installTimeout) == 1)
      #expect(installer.standardError.contains("checksum mismatch"), "\(installer.standardError)")
      #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/orchion"))
    }
  }

  @Test("over HTTPS the join line pins the server's key and the CA; the agent joins over TLS")
  func joinOverHTTPS() async throws {
    let directory = try Self.scratch("https")
    let certs = directory + "/certs"
    let initialize = try ChildProcess(BuiltProducts.orchion, ["certs", "init", "--dir", certs])
    #expect(try await initialize.waitForExit() == 0, "\(initialize.standardError)")
    // No configured admin token: the first start makes tokens and prints the join line.
    let (server, address) = try await Cluster.launchServer(
      directory: directory,
      arguments: [
        "--port", "0", "--tls-cert", certs + "/server.pem", "--tls-key", certs + "/server-key.pem",
      ],
      environment: ["ORCHION_TOKEN": ""]
    )
    defer { server.signal(SIGKILL) }
    let printed = try await server.waitForOutput(containing: "join a machine:")
    let line = try #require(printed.range(of: "join a machine:").map { printed[$0.upperBound...] })
      .trimmingCharacters(in: .whitespaces)
      .replacingOccurrences(of: "<this machine's address>", with: "127.0.0.1")
    #expect(line.hasPrefix("curl -fsSLk --pinnedpubkey 'sha256//"), "\(line)")
    let caDigest = try await Self.sha256(certs + "/ca.pem")
    #expect(line.contains("--tls-ca-sha256 \(caDigest)"))
    let prefix = directory + "/prefix"
    let installer = try Self.shell(
      line + " --dir \(prefix)/bin --data-dir \(prefix)/agent -- --id joined-https",
      home: directory + "/home"
    )
    defer {
      installer.signal(SIGKILL)
      Self.killAgent("joined-https")
    }
    let tls = ClientTLS(caPath: certs + "/ca.pem")
    let admin = try #require(
      PrivateFile.readText(directory + "/server/admin.token"), "the first start's admin token")
    try await withOrchionClient(server: address, token: admin, tls: tls) { client in
      try await eventually(timeout: Self.installTimeout) {
        (try? await client.nodes.getNode(.with { $0.nodeID = "joined-https" }).node.status) == .active
      }
    }
    #expect(FileManager.default.contents(atPath: prefix + "/agent/ca.pem") == FileManager.default.contents(atPath: certs + "/ca.pem"))

    // A pin that is not the server's: the script never gets past the first download.
    let wrong = line.replacingOccurrences(
      of: #"sha256//[A-Za-z0-9+/=]+"#, with: "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", options: .regularExpression)
    let refused = try Self.shell(wrong + " --dir \(directory)/other --no-start", home: directory + "/home2")
    _ = try await refused.waitForExit(timeout: Self.installTimeout)  // sh's status: it ran nothing
    #expect(refused.standardError.contains("pinned"), "curl refused the key: \(refused.standardError)")
    #expect(!FileManager.default.fileExists(atPath: directory + "/other/orchion"))
  }

  static var machine: String {
    var name = utsname()
    uname(&name)
    return withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  }

  static func sha256(_ path: String) async throws -> String {
    let process = try ChildProcess("/usr/bin/sha256sum", [path])
    #expect(try await process.waitForExit(timeout: Self.installTimeout) == 0)
    return process.standardOutput.split(separator: " ").first.map(String.init) ?? ""
  }
}
