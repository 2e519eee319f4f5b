import CloudInventory
import Foundation
import Logging

/// Every line the program writes to stderr goes through here: log records, the final
/// `inventory-poller:` line and the JSON summary. Each line starts with a UTC timestamp, and
/// control characters are escaped (`ControlCharacters`), so text a server supplied (an AWS
/// error message, a MongoDB reply) can never forge a log line or drive the operator's terminal.
enum StandardError {
    private static let lock = NSLock()

    /// Writes `text` as one stamped line. A failing stderr cannot be reported anywhere, so it
    /// is ignored.
    static func writeLine(_ text: String, at date: Date = Date()) {
        let line = UTCTime.iso8601(date) + " " + ControlCharacters.escape(text) + "\n"
        lock.lock()
        defer { lock.unlock() }
        try? writeAll(fd: 2, bytes: Array(line.utf8))
    }

    /// The final line of a failed run.
    static func writeFailure(_ message: String) {
        writeLine("inventory-poller: " + message)
    }
}

/// The program's log handler: `<UTC time> <level> <message> key=value ...` on stderr, one
/// line per record, through `StandardError` (timestamp and escaping in one place).
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var text = "\(event.level) \(event.message)"
        if let error = event.error { text += " error=\(error)" }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            text += " \(key)=\(value)"
        }
        StandardError.writeLine(text)
    }
}
