import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The mode bits of `path`, or `nil` when it does not exist.
private func mode(_ path: String) -> mode_t? {
  var info = stat()
  guard stat(path, &info) == 0 else { return nil }
  return info.st_mode & 0o7777
}

/// `orchion` with the umask at 000: whatever it creates without an explicit mode is 0666/0777.
private func orchionWithoutUmask(
  _ arguments: [String],
  environment: [String: String]
) throws -> ChildProcess {
  try ChildProcess(
    "/bin/sh",
    ["-c", "umask 000; exec \"$0\" \"$@\"", BuiltProducts.orchion] + arguments,
    environment: environment
  )
}

@Suite("End to end: private state files", .serialized, .timeLimit(.minutes(2)))
struct PrivateStateTests {
  @Test(
    "with umask 000, a 0755 data dir is tightened to 0700 (with a warning) and every credential, database and config file is 0600; the export holds node credential digests only"
  )
  func privateFiles() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-private-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let data = directory + "/server"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    #expect(chmod(data, 0o755) == 0)
    let environment = [
      "ORCHION_TOKEN": "", "ORCHION_CONFIG": directory + "/client-config", "HOME": directory,
    ]
    let server = try orchionWithoutUmask(
      ["server", "--data-dir", data, "--port", "0"],
      environment: environment
    )
    let line = try await server.waitForOutput(containing: "listening on ")
    let address = try ServerAddress(parsing: String(try #require(line.split(separator: " ").last)))
    #expect(server.standardError.contains("\(data) was readable by other users (mode 0755)"))
    #expect(mode(data) == 0o700)
    let join = try #require(PrivateFile.readText(data + "/join.token"))

    let agentData = directory + "/agent"
    let agent = try orchionWithoutUmask(
      ["agent", "--server", "\(address)", "--token", join, "--data-dir", agentData],
      environment: environment
    )
    // No --id: the agent makes its node ID and keeps it.
    var credentialPath = ""
    try await eventually(timeout: .seconds(20)) {
      guard let id = PrivateFile.readText(agentData + "/node-id") else { return false }
      credentialPath = agentData + "/node-credential-" + id
      return FileManager.default.fileExists(atPath: credentialPath)
    }
    let files = [
      "admin.token", "join.token", "secrets.key", "orchion.db", "orchion.db-wal",
      "orchion.db.lock",
    ].map { data + "/" + $0 } + [directory + "/client-config", credentialPath, agentData + "/node-id"]
    for file in files {
      #expect(mode(file) == 0o600, "\(file): \(mode(file).map { String($0, radix: 8) } ?? "absent")")
    }
    #expect(mode(agentData) == 0o700)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: data).filter {
      $0.contains(".tmp-")
    }
    #expect(leftovers.isEmpty)

    // The export carries the node's credential digest (so a restore keeps the node's lock),
    // never the credential.
    let credential = try #require(PrivateFile.readText(credentialPath))
    let export = try ChildProcess(
      BuiltProducts.orchion,
      ["admin", "export", "--data-dir", data],
      environment: environment
    )
    #expect(try await export.waitForExit() == 0, "\(export.standardError)")
    #expect(!export.standardOutput.contains(credential))
    let digest = try await sha256Base64(credential)
    let nodeLine = try #require(
      export.standardOutput.split(separator: "\n").first { $0.contains("\"node\"") }
    )
    #expect(nodeLine.contains("\"credential_sha256\":\"\(digest)\""), "\(nodeLine)")

    agent.signal(SIGTERM)
    _ = try await agent.waitForExit()
    server.signal(SIGTERM)
    #expect(try await server.waitForExit() == 0, "\(server.standardError)")
  }

  @Test("the store location can come from a file; a password on the command line is warned about")
  func storeFromFile() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-storefile-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let database = directory + "/elsewhere.db"
    try PrivateFile.write(Data("sqlite:\(database)\n".utf8), to: directory + "/store")
    let (server, _) = try await Cluster.launchServer(
      directory: directory,
      arguments: ["--port", "0", "--store-file", directory + "/store"],
      environment: ["HOME": directory]
    )
    #expect(FileManager.default.fileExists(atPath: database))
    #expect(!server.standardError.contains("holds a password"))
    server.signal(SIGTERM)
    #expect(try await server.waitForExit() == 0)

    let export = try ChildProcess(
      BuiltProducts.orchion,
      ["admin", "export", "--store", "postgres://orchion:hunter2@127.0.0.1:1/none"],
      environment: ["HOME": directory]
    )
    #expect(try await export.waitForExit() != 0)
    #expect(export.standardError.contains("warning: --store holds a password"), "\(export.standardError)")
    #expect(!export.standardError.contains("hunter2"), "\(export.standardError)")
  }
}

/// SHA-256 of `text`, base64 as protobuf's JSON mapping writes bytes.
private func sha256Base64(_ text: String) async throws -> String {
  let process = try ChildProcess("/usr/bin/sha256sum", [], standardInput: text)
  #expect(try await process.waitForExit() == 0)
  let hex = try #require(process.standardOutput.split(separator: " ").first)
  var bytes: [UInt8] = []
  var index = hex.startIndex
  while index < hex.endIndex {
    let next = hex.index(index, offsetBy: 2)
    bytes.append(try #require(UInt8(hex[index..<next], radix: 16)))
    index = next
  }
  return Data(bytes).base64EncodedString()
}
