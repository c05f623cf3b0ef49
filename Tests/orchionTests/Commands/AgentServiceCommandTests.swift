import Foundation
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion agent install-service` / `uninstall-service`, the real binary: the unit systemd
/// would run, checked by systemd's own verifier, and the command it runs joining a real
/// orchestrator with the token from the 0600 file.
@Suite("orchion agent install-service", .serialized, .timeLimit(.minutes(2)))
struct AgentServiceCommandTests {
  @Test("the unit verifies, holds no token, names a 0600 config that joins the machine; uninstall removes both")
  func installAndUninstall() async throws {
    try await Cluster.with { cluster in
      let join = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        try await $0.tokens.createToken(.with { $0.kind = .join }).token
      }
      let units = cluster.directory + "/units"
      let data = cluster.directory + "/service-agent"
      let install = try ChildProcess(
        BuiltProducts.orchion,
        [
          "agent", "install-service", "--unit-dir", units, "--data-dir", data,
          "--server", "\(cluster.address)", "--token-file", try tokenFile(join, in: cluster),
          "--", "--id", "svc-node", "--kill-grace", "1s", "--label", "zone=a b",
        ],
        environment: ["ORCHION_TOKEN": ""]
      )
      #expect(try await install.waitForExit() == 0, "\(install.standardError)")
      #expect(install.standardOutput.contains("systemd is not running on this machine"))
      let unitPath = units + "/orchion-agent.service"
      let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
      let config = data + "/service.config"
      #expect(!unit.contains(join), "the unit holds the token")
      #expect(unit.contains("Environment=\"ORCHION_CONFIG=\(config)\""))
      #expect(unit.contains("Restart=on-failure") && unit.contains("Delegate=yes"))
      #expect(unit.contains("\"--label\" \"zone=a b\""))
      let mode = try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions]
      #expect(mode as? Int == 0o600)
      #expect(try String(contentsOfFile: config, encoding: .utf8).contains("token = \(join)"))

      let verify = try ChildProcess("/usr/bin/env", ["systemd-analyze", "verify", unitPath])
      #expect(try await verify.waitForExit() == 0, "\(verify.standardError)")

      // What the unit runs joins the machine with the token from the file alone.
      let agent = try ChildProcess(
        BuiltProducts.orchion,
        ["agent", "--data-dir", data, "--id", "svc-node", "--kill-grace", "1s"],
        environment: ["ORCHION_CONFIG": config, "ORCHION_TOKEN": ""]
      )
      try await cluster.waitForActiveNodes(["svc-node"])
      agent.signal(SIGTERM)
      _ = try await agent.waitForExit()

      let uninstall = try ChildProcess(
        BuiltProducts.orchion,
        ["agent", "uninstall-service", "--unit-dir", units, "--data-dir", data]
      )
      #expect(try await uninstall.waitForExit() == 0, "\(uninstall.standardError)")
      #expect(!FileManager.default.fileExists(atPath: unitPath))
      #expect(!FileManager.default.fileExists(atPath: config))
    }
  }

  @Test("without a token it refuses, saying what to give")
  func needsToken() async throws {
    let install = try ChildProcess(
      BuiltProducts.orchion,
      ["agent", "install-service", "--unit-dir", "/tmp/unused-\(UUID().uuidString)", "--server", "127.0.0.1:1"],
      environment: ["ORCHION_TOKEN": ""]
    )
    #expect(try await install.waitForExit() != 0)
    #expect(install.standardError.contains("--token JOIN_TOKEN"), "\(install.standardError)")
  }

  func tokenFile(_ token: String, in cluster: Cluster) throws -> String {
    let path = cluster.directory + "/join-token"
    try PrivateFile.write(Data(token.utf8), to: path)
    return path
  }
}
