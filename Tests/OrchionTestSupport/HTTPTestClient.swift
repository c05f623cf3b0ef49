import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A plain HTTP/1.1 client for tests of the orchestrator's HTTP side: no redirects followed,
/// no cookies kept (a test says which it sends), every header of the answer visible.
public final class HTTPTestClient: NSObject, URLSessionTaskDelegate, Sendable {
  public struct Answer: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: String

    /// A response header, by name in any case.
    public func header(_ name: String) -> String? {
      headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    /// The value a `Set-Cookie` header gives `name`.
    public func cookie(_ name: String) -> String? {
      guard let header = header("Set-Cookie"), header.hasPrefix(name + "=") else { return nil }
      return String(header.dropFirst(name.count + 1).prefix { $0 != ";" })
    }
  }

  private let base: String

  /// - Parameter base: `http://host:port`.
  public init(base: String) {
    self.base = base
  }

  /// Sends one request and returns the answer, whatever its status.
  public func send(
    _ method: String = "GET",
    _ path: String,
    headers: [String: String] = [:],
    body: String? = nil
  ) async throws -> Answer {
    guard let url = URL(string: base + path) else { throw URLError(.badURL) }
    var request = URLRequest(url: url)
    request.httpMethod = method
    request.httpShouldHandleCookies = false
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body {
      request.httpBody = Data(body.utf8)
      if headers["Content-Type"] == nil {
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
      }
    }
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpCookieStorage = nil
    configuration.timeoutIntervalForRequest = 30
    let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    defer { session.finishTasksAndInvalidate() }
    let (data, response) = try await session.data(for: request)
    guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields {
      fields["\(name)"] = "\(value)"
    }
    return Answer(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
  }

  public func urlSession(
    _ session: URLSession,
    task: URLSessionTask,
    willPerformHTTPRedirection response: HTTPURLResponse,
    newRequest request: URLRequest,
    completionHandler: @escaping @Sendable (URLRequest?) -> Void
  ) {
    completionHandler(nil)  // a test looks at the redirect itself
  }
}
