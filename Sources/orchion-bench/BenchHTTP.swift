import Foundation
import OrchionCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// HTTP/1.1 over a blocking loopback socket: enough to time a page and to hold a live-output
/// stream open, with nothing between the bench and the orchestrator's HTTP server.
struct BenchHTTP: Sendable {
  let port: Int
  let token: String

  /// Opens a connection and sends `GET path`; the caller reads the answer.
  private func open(_ path: String) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw OrchionError.unavailable("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard connected else {
      close(descriptor)
      throw OrchionError.unavailable("connect to 127.0.0.1:\(port): errno \(errno)")
    }
    let request =
      "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
    let sent = request.utf8CString.withUnsafeBufferPointer { buffer in
      send(descriptor, buffer.baseAddress, buffer.count - 1, 0)
    }
    guard sent == request.utf8.count else {
      close(descriptor)
      throw OrchionError.unavailable("send: errno \(errno)")
    }
    return descriptor
  }

  /// GETs `path` to the end; returns the status line's code and the bytes received.
  func get(_ path: String) throws -> (status: Int, bytes: Int) {
    let descriptor = try open(path)
    defer { close(descriptor) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = read(descriptor, &buffer, buffer.count)
      if count <= 0 { break }
      received.append(contentsOf: buffer[0..<count])
    }
    let head = String(decoding: received.prefix(32), as: UTF8.self)
    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return (status, received.count)
  }

  /// Holds `GET path` open, counting bytes and `event:` lines read, until `stop` says so.
  func follow(_ path: String, counter: FollowCounter) throws {
    let descriptor = try open(path)
    defer { close(descriptor) }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var buffer = [UInt8](repeating: 0, count: 16_384)
    var previous: UInt8 = 0
    while !counter.isStopped {
      let count = read(descriptor, &buffer, buffer.count)
      if count == 0 { break }
      if count < 0 { continue }  // the receive timeout: look at the stop flag again
      // An SSE event ends with an empty line: count the "\n\n"s.
      var events = 0
      for byte in buffer[0..<count] {
        if byte == UInt8(ascii: "\n"), previous == UInt8(ascii: "\n") { events += 1 }
        previous = byte
      }
      counter.add(bytes: count, events: events)
    }
  }
}

/// What live-output followers read, and when they should stop.
final class FollowCounter: Sendable {
  private let state = Mutex((bytes: 0, events: 0, stopped: false))

  func add(bytes: Int, events: Int) {
    state.withLock {
      $0.bytes += bytes
      $0.events += events
    }
  }

  var isStopped: Bool { state.withLock { $0.stopped } }
  func stop() { state.withLock { $0.stopped = true } }
  var totals: (bytes: Int, events: Int) { state.withLock { ($0.bytes, $0.events) } }
}
