import CoreMetrics
import GRPCCore

/// Counts and times every RPC by service, method and status code: from its arrival to the end
/// of its response (a stream's last message), so long-lived streams show how long they stayed.
struct MetricsInterceptor: ServerInterceptor {
  let metrics: ServerMetrics

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let started = ContinuousClock.now
    let method = context.descriptor.fullyQualifiedMethod
    let metrics = metrics
    let record: @Sendable (RPCError.Code?) -> Void = { code in
      guard let instruments = metrics.rpc(method, code: Self.name(of: code)) else { return }
      instruments.count.increment()
      instruments.duration.record(ContinuousClock.now - started)
    }
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      record(Self.code(of: error))
      throw error
    }
    switch response.accepted {
    case .failure(let error):
      record(error.code)
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          record(nil)
          return trailers
        } catch {
          record(Self.code(of: error))
          throw error
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }

  /// The status an error ends an RPC with, as grpc-swift decides it.
  private static func code(of error: any Error) -> RPCError.Code {
    if let error = error as? RPCError { return error.code }
    if let error = error as? any RPCErrorConvertible { return error.rpcErrorCode }
    return .unknown
  }

  /// The gRPC status name, as the gRPC specification spells it (`OK`, `NOT_FOUND`…).
  static func name(of code: RPCError.Code?) -> String {
    guard let code else { return "OK" }
    return upperSnake(code.description)
  }

  private static func upperSnake(_ camel: String) -> String {
    var result = ""
    for character in camel {
      if character.isUppercase, !result.isEmpty { result.append("_") }
      result.append(contentsOf: character.uppercased())
    }
    return result
  }
}
