import ArgumentParser
import GRPCCore
import OrchionCommandLine

/// Turns RPC failures into one-line messages and a non-zero exit, instead of a stack of types.
enum CLIErrors {
  /// Runs `body`; an `RPCError` becomes `error: <CODE>: <message>` on stderr and exit code 1.
  static func reporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as RPCError {
      Console.error("error: \(error.code): \(error.message)")
      throw ExitCode.failure
    }
  }
}
