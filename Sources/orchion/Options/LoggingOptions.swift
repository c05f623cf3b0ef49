import ArgumentParser
import Logging
import OrchionCommandLine

/// `--log-level` and `--log-format`, shared by the long-running commands.
struct LoggingOptions: ParsableArguments {
  @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
  var logLevel: Logger.Level = .info

  @Option(help: "Log format: text (for people) or json (one object a line, for log shippers).")
  var logFormat: LogFormat = .text

  enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
  }

  /// Sends logs to standard error at the chosen level and format, and returns the process's
  /// root logger.
  func bootstrap(label: String) -> Logger {
    let level = logLevel
    let format = logFormat
    LoggingSystem.bootstrap { label in
      switch format {
      case .text:
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      case .json:
        var handler = JSONLogHandler(label: label)
        handler.logLevel = level
        return handler
      }
    }
    return Logger(label: label)
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
