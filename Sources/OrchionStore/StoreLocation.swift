public import OrchionCore

/// Where the orchestrator keeps its state, as `--store` names it.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
  /// Real SQLite in memory: gone when the process ends (tests, throwaway clusters).
  case memory
  /// An SQLite file: the embedded default, `<data-dir>/orchion.db`.
  case sqlite(path: String)
  /// A PostgreSQL database shared by several orchestrators:
  /// `postgres://user:password@host:port/database`.
  case postgres(url: String)

  /// Reads a `--store` value: `memory`, `sqlite:PATH`, a file path, or a `postgres://` or
  /// `postgresql://` URL.
  /// - Throws: `invalidArgument` saying what is accepted.
  public init(parsing text: String) throws(OrchionError) {
    if text == "memory" {
      self = .memory
    } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
      _ = try PostgresURL(parsing: text)
      self = .postgres(url: text)
    } else if text.hasPrefix("sqlite:") {
      let path = String(text.dropFirst("sqlite:".count))
      guard !path.isEmpty else { throw .invalidArgument("--store sqlite: needs a file path") }
      self = .sqlite(path: path)
    } else if !text.isEmpty, !text.contains("://") {
      self = .sqlite(path: text)
    } else {
      throw .invalidArgument(
        "--store '\(text)': expected memory, sqlite:PATH, a file path, or postgres://user:password@host:port/database"
      )
    }
  }

  /// Opens the store.
  /// - Throws: `storeUnavailable` when it cannot be reached; `failedPrecondition` when another
  ///   orchestrator owns an SQLite file.
  public func open() async throws(OrchionError) -> any Store {
    switch self {
    case .memory: try SQLiteStore.inMemory()
    case .sqlite(let path): try SQLiteStore.open(path: path)
    case .postgres(let url): try await PostgresStore.connect(try PostgresURL(parsing: url))
    }
  }

  /// Where the state is, without a password.
  public var description: String {
    switch self {
    case .memory: "memory"
    case .sqlite(let path): path
    case .postgres(let url): (try? PostgresURL(parsing: url))?.redacted ?? "postgres://…"
    }
  }
}
