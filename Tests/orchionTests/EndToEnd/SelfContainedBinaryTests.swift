import Foundation
import OrchionCore
import OrchionTestSupport
import Testing

/// The binary other machines install runs where no Swift toolchain is: `orchion up` and
/// `orchion run -- echo ok` inside a mount namespace whose Swift installation is an empty
/// directory. It is `dist/orchion-linux-<arch>` when `make dist` built one, else the `orchion`
/// the tests run, which `make test` links the same way (only the optimisation differs).
@Suite("Self-contained binary")
struct SelfContainedBinaryTests {
  /// The Swift installation the toolchain runs from (`/opt/swift` here): what is hidden.
  static var toolchainRoot: String? {
    guard let swift = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
      .map({ "\($0)/swift" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else { return nil }
    // <root>/usr/bin/swift
    let resolved = URL(fileURLWithPath: swift).resolvingSymlinksInPath().path
    return ((resolved as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
      .replacingOccurrences(of: "/usr", with: "", options: .anchored.union(.backwards))
  }

  static var binary: String {
    var name = utsname()
    uname(&name)
    let arch = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let dist = BuiltProducts.repositoryRoot + "/dist/orchion-linux-\(arch)"
    return FileManager.default.isExecutableFile(atPath: dist) ? dist : BuiltProducts.orchion
  }

  @Test("orchion up and orchion run -- echo ok work with the Swift toolchain hidden")
  func runsWithoutToolchain() async throws {
    let root = try #require(Self.toolchainRoot, "no swift on PATH")
    let binary = Self.binary
    // No Swift library is loaded from the toolchain.
    let ldd = try ChildProcess("/usr/bin/ldd", [binary])
    _ = try await ldd.waitForExit()
    #expect(!ldd.standardOutput.contains("libswift"), "\(binary) links Swift dynamically:\n\(ldd.standardOutput)")
    #expect(!ldd.standardOutput.contains("libFoundation"), "\(ldd.standardOutput)")

    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-dist-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)
    // Inside the namespace the toolchain's directory is empty: anything it would load is gone.
    let script = """
      set -e
      mount --bind "\(directory)/empty" "\(root)"
      [ -z "$(ls -A "\(root)")" ] || { echo "toolchain still visible"; exit 3; }
      export ORCHION_CONFIG="\(directory)/config" ORCHION_TOKEN=
      "\(binary)" up --port 0 --http-port 0 --data-dir "\(directory)/data" > "\(directory)/up.log" 2>&1 &
      up=$!
      for i in $(seq 1 300); do grep -q "orchion is up" "\(directory)/up.log" && break; sleep 0.1; done
      grep -q "orchion is up" "\(directory)/up.log" || { cat "\(directory)/up.log"; exit 4; }
      "\(binary)" run -- echo ok
      kill -TERM $up
      wait $up
      """
    let namespace = try ChildProcess("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script])
    let status = try await namespace.waitForExit(timeout: .seconds(120))
    #expect(status == 0, "stdout:\n\(namespace.standardOutput)\nstderr:\n\(namespace.standardError)")
    #expect(namespace.standardOutput == "ok\n")
    let size = (try FileManager.default.attributesOfItem(atPath: binary)[.size] as? NSNumber)?.int64Value ?? 0
    print("self-contained binary \(binary): \(size / (1 << 20)) MiB")
  }
}
