import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionServer
import SwiftProtobuf

/// What a joining machine fetches: the install script, the binary, the CA.
extension WebRoutes {

  func installScript(_ request: Request) throws -> Response {
    let scheme = configuration.tls == nil ? "http" : "https"
    // The address the machine used to fetch the script reaches us; anything odd in it (it
    // goes into a shell script) falls back to our own.
    let authority = request.head.authority.flatMap { Self.isPlainAuthority($0) ? $0 : nil }
    let base = authority.map { "\(scheme)://\($0)" } ?? orchestrator.sessions.dashboardURL ?? ""
    let script = InstallScript.render(
      .init(
        base: base,
        pinnedKey: configuration.tls == nil ? nil : configuration.install.pinnedKey,
        servesCA: configuration.install.caPath != nil,
        binaries: try downloads.all().map { (arch: $0.arch, sha256: $0.sha256) }
      )
    )
    var headers = HTTPFields()
    headers[.contentType] = "text/x-shellscript; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: script)))
  }

  func caCertificate() throws -> Response {
    guard configuration.tls != nil, let path = configuration.install.caPath,
      let data = FileManager.default.contents(atPath: path)
    else { return Self.plain(.notFound, "this orchestrator hands out no CA (plain HTTP, or no CA file)\n") }
    var headers = HTTPFields()
    headers[.contentType] = "application/x-pem-file"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  func download(_ file: String) throws -> Response {
    let prefix = "orchion-linux-"
    guard file.hasPrefix(prefix), let binary = try downloads.binary(for: String(file.dropFirst(prefix.count)))
    else {
      return Self.plain(
        .notFound,
        "no such download; this orchestrator serves \((try? downloads.all().map { prefix + $0.arch }.joined(separator: ", ")) ?? "nothing")\n"
      )
    }
    var headers = HTTPFields()
    headers[.contentType] = "application/octet-stream"
    headers[.contentLength] = "\(binary.size)"
    headers[.contentDisposition] = "attachment; filename=\"\(file)\""
    if let digestName = HTTPField.Name("X-Orchion-SHA256") { headers[digestName] = binary.sha256 }
    let path = binary.path
    let size = binary.size
    return Response(
      status: .ok,
      headers: headers,
      body: ResponseBody(contentLength: Int(size)) { writer in
        guard let handle = FileHandle(forReadingAtPath: path) else {
          throw OrchionError.unavailable("cannot read \(path)")
        }
        defer { try? handle.close() }
        var sent: Int64 = 0
        // Exactly the size announced: a file that grew meanwhile is cut at it.
        while sent < size, let chunk = try handle.read(upToCount: Int(min(1 << 20, size - sent))), !chunk.isEmpty {
          try await writer.write(ByteBuffer(bytes: chunk))
          sent += Int64(chunk.count)
        }
        try await writer.finish(nil)
      }
    )
  }

  /// A host and port made of characters that cannot mean anything to a shell.
  static func isPlainAuthority(_ authority: String) -> Bool {
    !authority.isEmpty && authority.utf8.count <= 255
      && authority.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }
  }
}
