import AWSCore
import CloudInventory
import Foundation
import Glibc
import Logging

/// Every line the program writes to stderr goes through here: log records, the final
/// `inventory-poller:` line and the JSON summary. Each line starts with a UTC timestamp, and
/// control characters are escaped (`ControlCharacters`), so text a server supplied (an AWS
/// error message, a MongoDB reply) can never forge a log line or drive the operator's terminal.
///
/// On a terminal, the progress line (`ProgressLine`) shares stderr: under the same lock, a
/// log line first erases it (`\r`, clear to end of line), then draws it again below itself.
enum StandardError {
    private static let lock = NSLock()
    /// The progress text on screen now; guarded by `lock`.
    nonisolated(unsafe) private static var progress: String?
    private static let erase = "\r\u{1B}[K"

    /// Writes `text` as one stamped line. A failing stderr cannot be reported anywhere, so it
    /// is ignored.
    static func writeLine(_ text: String, at date: Date = Date()) {
        let line = UTCTime.iso8601(date) + " " + ControlCharacters.escape(text) + "\n"
        lock.lock()
        defer { lock.unlock() }
        let bytes = unsafe progress.map { erase + line + $0 } ?? line
        try? writeAll(fd: 2, bytes: Array(bytes.utf8))
    }

    /// Draws (or redraws) the progress line in place, cut to the terminal's width so it
    /// never wraps (a wrapped line could not be redrawn with `\r`).
    static func showProgress(_ text: String) {
        var size = winsize()
        let columns = unsafe ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 1 ? Int(size.ws_col) - 1 : 79
        let shown = String(text.prefix(columns))
        lock.lock()
        defer { lock.unlock() }
        unsafe progress = shown
        try? writeAll(fd: 2, bytes: Array((erase + shown).utf8))
    }

    /// Erases the progress line, if one is shown: the terminal is left as it was.
    static func clearProgress() {
        lock.lock()
        defer { lock.unlock() }
        guard unsafe progress != nil else { return }
        unsafe progress = nil
        try? writeAll(fd: 2, bytes: Array(erase.utf8))
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
