import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("Interoperability")
struct PythonInteropTests {
  @Test("a Python grpcio client generated from api/*.proto drives the API")
  func pythonClient() async throws {
    try await withRunningOrchestrator { running, client in
      let script = BuiltProducts.repositoryRoot + "/Tests/Interop/node_api_client.py"
      let python = try ChildProcess(
        "/usr/bin/env",
        ["python3", script, "--port", "\(running.port)", "--token", testAdminToken]
      )
      let status = try await python.waitForExit(timeout: .seconds(120))
      #expect(status == 0, "stdout:\n\(python.standardOutput)\nstderr:\n\(python.standardError)")
      #expect(python.standardOutput.contains("all checks passed"))
      // What Python did is visible from Swift.
      let node = try await client.nodes.getNode(.with { $0.nodeID = "py-node" }).node
      #expect(node.labels == ["lang": "python"])
      #expect(node.resources.cpuMillis == 4000)
    }
  }
}
