import Logging

/// Loggers for `proton serve`: standard error, so that standard output carries only the
/// `listening on` line that scripts and tests read.
public enum ServiceLogging {
    public static func standardError(label: String, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
