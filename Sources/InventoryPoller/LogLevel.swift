import ArgumentParser
import Logging

/// `--log-level`: swift-log's levels by their names. An enum, so `--help`, the completion
/// scripts and the man page list the values from this one definition.
enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue)! }
}
