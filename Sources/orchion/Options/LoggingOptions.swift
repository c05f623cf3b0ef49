import ArgumentParser
import Logging

/// `--log-level`, shared by the long-running commands.
struct LoggingOptions: ParsableArguments {
  @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
  var logLevel: Logger.Level = .info

  /// Sends logs to standard error at the chosen level and returns the process's root logger.
  func bootstrap(label: String) -> Logger {
    let level = logLevel
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: label)
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
