import ArgumentParser
import OrchionCommandLine

// Every agent holds a connection, and a flood of idle ones must not starve the rest: the
// default soft limit of 1,024 descriptors would refuse callers long before memory ran out.
FileDescriptorLimit.raiseToHardLimit()
// Parsed before anything asynchronous starts, so that the command's type can choose the
// executor (AsyncParsableCommand.main parses too late for that); then run as `main` runs it.
do {
  let command = try Orchion.parseAsRoot()
  EventLoopExecutor.install(ifWanted: command is any RunsOnEventLoops)
  try await run(command)
} catch {
  Orchion.exit(withError: error)
}

/// Runs a parsed command, the asynchronous `run()` of an `AsyncParsableCommand`.
func run(_ parsed: any ParsableCommand) async throws {
  var command = parsed
  if var asyncCommand = command as? any AsyncParsableCommand {
    try await asyncCommand.run()
  } else {
    try command.run()
  }
}
