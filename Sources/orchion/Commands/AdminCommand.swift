import ArgumentParser
import Foundation
import OrchionAPI
import OrchionCommandLine
import OrchionCore
import OrchionStore
import SwiftProtobuf

/// `orchion admin`: operations on the orchestrator's state itself.
struct AdminCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "admin",
    abstract: "Inspect the orchestrator's durable state.",
    subcommands: [ExportCommand.self]
  )
}

/// `orchion admin export`: every node, task and output chunk as JSON lines.
struct ExportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write all state as JSON lines (nodes, then each task followed by its output).",
    discussion: """
      Reads the store directly, so it works whether or not the orchestrator runs: an SQLite \
      database is read alongside its owner (a consistent snapshot), PostgreSQL in one \
      REPEATABLE READ transaction. Each line is one orchion.v1.ExportRecord in protobuf's JSON \
      mapping: {"node": …}, {"task": …} or {"log": …} (output bytes in base64).
      """
  )

  @Option(help: "The orchestrator's data directory (its state is <data-dir>/orchion.db).")
  var dataDir = DataDirectory.defaultPath

  @Option(
    help: ArgumentHelp(
      "The store to read instead: sqlite:PATH, a file path, or postgres://…; also ORCHION_STORE.",
      valueName: "location"
    )
  )
  var store: String?

  @Option(
    help: ArgumentHelp(
      "A file holding the --store location (keeps a password off the command line).",
      valueName: "path"
    )
  )
  var storeFile: String?

  func run() async throws {
    StoreArgument.warnAboutPassword(in: store)
    let text = try StoreArgument.text(argument: store, file: storeFile)
    var location = StoreLocation.sqlite(
      path: (dataDir as NSString).appendingPathComponent("orchion.db")
    )
    if let text {
      do {
        location = try StoreLocation(parsing: text)
      } catch {
        throw ValidationError(error.message)
      }
    }
    let opened: any Store
    switch location {
    case .memory:
      throw ValidationError("--store memory has nothing to export: it lives in the orchestrator")
    case .sqlite(let path):
      guard FileManager.default.fileExists(atPath: path) else {
        throw ValidationError("no database at \(path) (see --data-dir or --store)")
      }
      opened = try SQLiteStore.openReadOnly(path: path)
    case .postgres:
      opened = try await location.open()
    }
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    do {
      try await opened.export { record in
        Console.line(try Orchion_V1_ExportRecord(record).jsonString(options: options))
      }
    } catch {
      await opened.close()
      throw error
    }
    await opened.close()
  }
}
