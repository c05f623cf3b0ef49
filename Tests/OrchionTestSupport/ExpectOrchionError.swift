import GRPCCore
import OrchionCore
import Testing

/// Expects `body` to throw an ``OrchionError`` with `code`; returns its message.
@discardableResult
public func expectOrchionError<T>(
  _ code: OrchionError.Code,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> T
) -> String {
  do {
    _ = try body()
    Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
  } catch let error as OrchionError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    return error.message
  } catch {
    Issue.record("expected OrchionError \(code), got \(error)", sourceLocation: sourceLocation)
  }
  return ""
}

/// Expects `body` to throw `invalidArgument` blaming `field` (a rejection for another reason,
/// or of another field, fails); returns its message.
@discardableResult
public func expectInvalid<T>(
  field: String?,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> T
) -> String {
  do {
    _ = try body()
    Issue.record("expected \(field ?? "a field") to be refused", sourceLocation: sourceLocation)
  } catch let error as OrchionError {
    #expect(error.code == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
    #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
    return error.message
  } catch {
    Issue.record("expected OrchionError, got \(error)", sourceLocation: sourceLocation)
  }
  return ""
}

/// Expects `body` to fail with `code`, and returns the error's message.
@discardableResult
public func expectRPCError<T>(
  _ code: RPCError.Code,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws -> T
) async -> String {
  do {
    _ = try await body()
    Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
  } catch let error as RPCError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    return error.message
  } catch {
    Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
  }
  return ""
}
