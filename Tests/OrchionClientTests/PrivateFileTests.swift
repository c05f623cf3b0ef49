import Foundation
import OrchionCore
import Testing

@testable import OrchionClient

#if canImport(Glibc)
  import Glibc
#endif

/// The mode bits of `path`.
private func mode(_ path: String) throws -> mode_t {
  var info = stat()
  try #require(stat(path, &info) == 0, "stat \(path): \(String(cString: strerror(errno)))")
  return info.st_mode & 0o7777
}

private func scratchDirectory() throws -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("orchion-private-\(UUID().uuidString.prefix(8))").path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

// Serialized: one test sets the process's umask, which every file created meanwhile would get.
@Suite("PrivateFile", .serialized)
struct PrivateFileTests {
  @Test("with umask 0, the file is 0600 from its creation: the temporary one and the result")
  func neverWider() throws {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/admin.token"
    let old = umask(0)
    defer { umask(old) }
    var temporaryMode: mode_t?
    var temporaryPath = ""
    try PrivateFile.write(Data("secret\n".utf8), to: path, mode: 0o600) { temporary in
      temporaryPath = temporary
      temporaryMode = try mode(temporary)
      // The bytes are in the temporary file before it takes the target's place.
      #expect(FileManager.default.contents(atPath: temporary) == Data("secret\n".utf8))
      #expect(!FileManager.default.fileExists(atPath: path))
    }
    #expect(temporaryMode == 0o600)
    #expect(temporaryPath.hasPrefix(directory + "/"))
    #expect(try mode(path) == 0o600)
    #expect(!FileManager.default.fileExists(atPath: temporaryPath))
    #expect(PrivateFile.readText(path) == "secret")
  }

  @Test("replacing a file keeps it 0600 and leaves no temporary file behind")
  func replaces() throws {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/config"
    try PrivateFile.write(Data("one".utf8), to: path)
    try PrivateFile.write(Data("two".utf8), to: path)
    #expect(PrivateFile.readText(path) == "two")
    #expect(try mode(path) == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["config"])
  }

  @Test("a public file gets the mode asked for, and a missing directory is created 0700")
  func publicFileInNewDirectory() throws {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/certs/ca.pem"
    try PrivateFile.write(Data("pem".utf8), to: path, mode: 0o644)
    #expect(try mode(path) == 0o644)
    #expect(try mode(directory + "/certs") == 0o700)
  }

  @Test("an existing 0755 directory is tightened to 0700 and reported; a private one is not")
  func tightensDirectory() throws {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    #expect(chmod(directory, 0o755) == 0)
    #expect(try PrivateFile.prepareDirectory(directory) == 0o755)
    #expect(try mode(directory) == 0o700)
    #expect(try PrivateFile.prepareDirectory(directory) == nil)
    let fresh = directory + "/a/b"
    #expect(try PrivateFile.prepareDirectory(fresh) == nil)
    #expect(try mode(fresh) == 0o700)
  }

  @Test("a directory others may write (like /tmp) is refused, and left as it is")
  func refusesShared() throws {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    #expect(chmod(directory, 0o1777) == 0)
    let error = #expect(throws: OrchionError.self) {
      _ = try PrivateFile.prepareDirectory(directory)
    }
    #expect(error?.code == .failedPrecondition)
    #expect(error?.message.contains("written by others") == true)
    #expect(try mode(directory) == 0o1777)
  }
}
