import ArgumentParser

/// Output format for listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table, json
}
