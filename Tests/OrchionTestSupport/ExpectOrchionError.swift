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
