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

/// A fresh scratch directory.
private func scratchDirectory(_ name: String) throws -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("orchion-\(name)-\(UUID().uuidString.prefix(8))").path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

/// The permission bits of `path`.
private func mode(_ path: String) -> Int? {
  (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
}

@Suite("End to end: security", .serialized)
struct SecurityEndToEndTests {
  @Test(
    "first start: tokens created 0600, the local CLI just works, a join token joins a machine and can do nothing else",
    .timeLimit(.minutes(2))
  )
  func firstStart() async throws {
    let directory = try scratchDirectory("first-start")
    let config = directory + "/client-config"
    // No token anywhere: the server must create them.
    let bare = ["ORCHION_TOKEN": "", "ORCHION_CONFIG": config]
    let (server, address) = try await Cluster.launchServer(
      directory: directory,
      arguments: ["--port", "0"],
      environment: bare
    )
    defer { server.signal(SIGKILL) }
    let line = try await server.waitForOutput(containing: "join a machine:")
    let join = try #require(
      line.split(separator: "\n").first { $0.contains("--token ") }?
        .components(separatedBy: "--token ").last?.trimmingCharacters(in: .whitespaces)
    )
    let data = directory + "/server"
    for file in ["admin.token", "join.token", "secrets.key", "orchion.db"] {
      #expect(mode(data + "/" + file) == 0o600, "\(file)")
    }
    #expect(mode(config) == 0o600)
    let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try String(contentsOfFile: config, encoding: .utf8).contains("token = \(admin)"))
    #expect(
      try String(contentsOfFile: data + "/join.token", encoding: .utf8).contains(join)
    )

    // The local CLI finds server and token in the client config; without them it is refused.
    let nodes = try ChildProcess(BuiltProducts.orchion, ["nodes"], environment: bare)
    #expect(try await nodes.waitForExit() == 0, "\(nodes.standardError)")
    let stranger = try ChildProcess(
      BuiltProducts.orchion,
      ["nodes", "--server", "\(address)"],
      environment: ["ORCHION_TOKEN": "", "ORCHION_CONFIG": directory + "/none"]
    )
    #expect(try await stranger.waitForExit() != 0)
    #expect(stranger.standardError.contains("unauthenticated"), "\(stranger.standardError)")

    // Another machine joins with the join token alone.
    let agent = try ChildProcess(
      BuiltProducts.orchion,
      [
        "agent", "--server", "\(address)", "--token", join, "--id", "joined",
        "--data-dir", directory + "/agent",
      ],
      environment: ["ORCHION_TOKEN": "", "ORCHION_CONFIG": directory + "/none"]
    )
    defer { agent.signal(SIGKILL) }
    try await withOrchionClient(server: address, token: admin) { client in
      try await eventually(timeout: .seconds(30)) {
        try await client.nodes.listNodes(.with { $0.status = .active }).nodes.map(\.id)
          == ["joined"]
      }
    }
    #expect(mode(directory + "/agent/node-credential-joined") == 0o600)

    // The join token cannot run anything; the admin token (from the config) can.
    let sneaky = try ChildProcess(
      BuiltProducts.orchion,
      ["run", "--token", join, "--", "true"],
      environment: bare
    )
    #expect(try await sneaky.waitForExit() != 0)
    #expect(sneaky.standardError.contains("permissionDenied"), "\(sneaky.standardError)")
    let run = try ChildProcess(
      BuiltProducts.orchion,
      ["run", "--", "echo", "from the joined machine"],
      environment: bare
    )
    #expect(try await run.waitForExit() == 0, "\(run.standardError)")
    #expect(run.standardOutput.contains("from the joined machine"))

    // A restart creates nothing new; the same tokens and the node's credential still work.
    server.signal(SIGTERM)
    _ = try await server.waitForExit()
    let (again, _) = try await Cluster.launchServer(
      directory: directory,
      arguments: ["--port", "\(address.port)"],
      environment: bare
    )
    defer { again.signal(SIGKILL) }
    try await withOrchionClient(server: address, token: admin) { client in
      try await eventually(timeout: .seconds(30)) {
        try await client.nodes.listNodes(.with { $0.status = .active }).nodes.map(\.id)
          == ["joined"]
      }
      #expect(try await client.tokens.listTokens(.init()).tokens.count == 2)
    }
    #expect(!again.standardOutput.contains("created the first tokens"))
  }

  @Test(
    "a secret reaches its task and is found nowhere else: API, CLI output, logs, data dirs, export",
    .timeLimit(.minutes(2))
  )
  func secretsDoNotLeak() async throws {
    try await Cluster.with(serverArguments: ["--log-level", "trace"]) { cluster in
      try cluster.startAgent("n1", extra: ["--log-level", "trace"])
      try await cluster.waitForActiveNodes(["n1"])
      let value = "sk-ant-\(UUID().uuidString)"
      func cli(_ arguments: [String], input: String? = nil) async throws -> String {
        let process = try ChildProcess(
          BuiltProducts.orchion,
          arguments + ["--server", "\(cluster.address)"],
          environment: cluster.environment,
          standardInput: input
        )
        #expect(try await process.waitForExit() == 0, "\(arguments): \(process.standardError)")
        return process.standardOutput + process.standardError
      }
      var seen = try await cli(["secret", "set", "anthropic"], input: value + "\n")
      let delivered = try scratchDirectory("delivered") + "/value"
      let id = try await withOrchionClient(server: cluster.address, token: testAdminToken) {
        client in
        let task = try await client.submit {
          $0.command = ["sh", "-c", "printf %s \"$KEY\" > \(delivered); echo wrote it"]
          $0.secretEnv = ["KEY": "anthropic"]
        }
        let finished = try await client.waitFor(task.id)
        #expect(finished.state == .succeeded, "\(finished.message)")
        var responses = try finished.jsonString()
        responses += try await client.tasks.listTasks(.init()).jsonString()
        let output = try await client.output(task.id)
        #expect(output.stdout == "wrote it\n")
        responses += output.stdout + output.stderr
        responses += try await client.secrets.listSecrets(.init()).jsonString()
        #expect(!responses.contains(value))
        return task.id
      }
      // It did reach the task, byte for byte (the trailing newline of stdin dropped).
      #expect(try String(contentsOfFile: delivered, encoding: .utf8) == value)

      seen += try await cli(["task", id])
      seen += try await cli(["tasks", "-o", "json"])
      seen += try await cli(["logs", id])
      seen += try await cli(["secret", "list", "-o", "json"])
      let export = try ChildProcess(
        BuiltProducts.orchion,
        ["admin", "export", "--data-dir", cluster.directory + "/server"]
      )
      #expect(try await export.waitForExit() == 0, "\(export.standardError)")
      seen += export.standardOutput
      #expect(!seen.contains(value), "the value appeared in CLI output or the export")

      for process in [cluster.server, try #require(cluster.agent("n1"))] {
        #expect(!process.standardError.contains(value), "a log holds the value")
        #expect(!process.standardOutput.contains(value))
      }
      // A secret removed while its task waits: the attempt fails, saying which and why.
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let waiting = try await client.submit {
          $0.command = ["true"]
          $0.secretEnv = ["KEY": "anthropic"]
          $0.nodeSelector = ["late": "yes"]
        }
        _ = try await client.secrets.deleteSecret(.with { $0.name = "anthropic" })
        try cluster.startAgent("late", labels: ["late": "yes"])
        let failed = try await client.waitFor(waiting.id)
        #expect(failed.state == .failed)
        #expect(failed.message.contains("secret 'anthropic' was not delivered"), "\(failed)")
      }

      // The whole data dirs (database, WAL, keys, agent state, client config).
      let stored = regularFiles(under: cluster.directory)
      #expect(stored.contains { $0.hasSuffix("orchion.db") })
      for path in stored {
        let data = FileManager.default.contents(atPath: path) ?? Data()
        #expect(data.range(of: Data(value.utf8)) == nil, "\(path) holds the value")
      }
    }
  }

  @Test("TLS and mutual TLS end to end; a plaintext client fails against a TLS server")
  func tls() async throws {
    let directory = try scratchDirectory("tls")
    let certs = directory + "/certs"
    let initialize = try ChildProcess(BuiltProducts.orchion, ["certs", "init", "--dir", certs])
    #expect(try await initialize.waitForExit() == 0, "\(initialize.standardError)")
    for key in ["ca-key.pem", "server-key.pem", "client-key.pem"] {
      #expect(mode(certs + "/" + key) == 0o600, "\(key)")
    }
    let ca = ClientTLS(caPath: certs + "/ca.pem")
    let mutual = ClientTLS(
      caPath: certs + "/ca.pem",
      certificatePath: certs + "/client.pem",
      keyPath: certs + "/client-key.pem"
    )
    func answers(_ address: ServerAddress, _ tls: ClientTLS?) async -> Bool {
      (try? await withOrchionClient(server: address, token: testAdminToken, tls: tls) {
        try await $0.nodes.listNodes(.init())
      }) != nil
    }

    // TLS: the CA's clients get in; a plaintext client does not.
    let serverTLS = ["--tls-cert", certs + "/server.pem", "--tls-key", certs + "/server-key.pem"]
    let (server, address) = try await Cluster.launchServer(
      directory: directory + "/one",
      arguments: ["--port", "0"] + serverTLS
    )
    #expect(await answers(address, ca))
    #expect(await !answers(address, nil))
    let cli = try ChildProcess(
      BuiltProducts.orchion,
      ["nodes", "--server", "\(address)", "--tls-ca", certs + "/ca.pem"]
    )
    #expect(try await cli.waitForExit() == 0, "\(cli.standardError)")
    server.signal(SIGKILL)
    _ = try await server.waitForExit()

    // Mutual TLS: a client without a certificate from the CA is refused.
    let (secured, securedAddress) = try await Cluster.launchServer(
      directory: directory + "/two",
      arguments: ["--port", "0", "--tls-client-ca", certs + "/ca.pem"] + serverTLS
    )
    defer { secured.signal(SIGKILL) }
    #expect(await !answers(securedAddress, ca))
    #expect(await !answers(securedAddress, nil))
    #expect(await answers(securedAddress, mutual))
    let agent = try ChildProcess(
      BuiltProducts.orchion,
      [
        "agent", "--server", "\(securedAddress)", "--id", "tls-node",
        "--data-dir", directory + "/agent", "--tls-ca", certs + "/ca.pem",
        "--tls-cert", certs + "/client.pem", "--tls-key", certs + "/client-key.pem",
      ]
    )
    defer { agent.signal(SIGKILL) }
    try await withOrchionClient(server: securedAddress, token: testAdminToken, tls: mutual) {
      client in
      try await eventually(timeout: .seconds(30)) {
        try await client.nodes.listNodes(.with { $0.status = .active }).nodes.map(\.id)
          == ["tls-node"]
      }
      let task = try await client.submit(["echo", "over mutual TLS"])
      let finished = try await client.waitFor(task.id)
      #expect(finished.state == .succeeded)
      let output = try await client.output(task.id).stdout
      #expect(output.contains("mutual"))
    }
  }
}
