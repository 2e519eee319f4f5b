import CMongoC
import Foundation
import Logging
import Synchronization

/// libmongoc's process-wide state, owned by the library: the first `MongoClient` installs the
/// log handler and calls `mongoc_init`; `mongoc_cleanup` runs once, at process exit.
///
/// Not a refcount that cleans up when the last client closes: libmongoc cannot be initialized
/// again after `mongoc_cleanup` (its init runs once per process), so a second client after a
/// cleanup would use a torn-down driver.
enum MongoRuntime {
    private final class LogSink: Sendable {
        struct State {
            var logger: Logger?
            var next = 0
            /// The redactors of the open clients; messages come only while a client works.
            var redactors: [Int: MongoURI.Redactor] = [:]
            var merged = MongoURI.Redactor(secrets: [])
            /// While set, warnings and errors are kept here instead of logged.
            var warnings: [String]?
        }
        let state = Mutex(State())
    }

    private static let sink = LogSink()
    private static let initialized = Mutex(false)

    /// Registers a client: its logger takes libmongoc's messages from now on, and its URI's
    /// secrets are scrubbed from every message, whichever client caused it, until it closes.
    /// Returns the token for `unregister`.
    static func register(logger: Logger, redactor: MongoURI.Redactor) -> Int {
        let token = sink.state.withLock { state in
            state.logger = logger
            state.next += 1
            state.redactors[state.next] = redactor
            state.merged = MongoURI.Redactor(merging: Array(state.redactors.values))
            return state.next
        }
        initialized.withLock { done in
            guard !done else { return }
            // Before mongoc_init: libmongoc's default handler writes to stdout, which carries results.
            unsafe mongoc_log_set_handler({ level, domain, message, _ in
                guard let message = unsafe message else { return }
                unsafe MongoRuntime.log(level: level, domain: domain, message: message)
            }, nil)
            mongoc_init()
            atexit { mongoc_cleanup() }
            done = true
        }
        return token
    }

    static func unregister(_ token: Int) {
        sink.state.withLock { state in
            guard state.redactors.removeValue(forKey: token) != nil else { return }
            state.merged = MongoURI.Redactor(merging: Array(state.redactors.values))
        }
    }

    /// Runs `body` (a URI parse) with libmongoc's warnings and errors kept instead of logged,
    /// and returns them, redacted: the caller makes them its one error line.
    static func capturingWarnings<T>(_ body: () throws(MongoError) -> T) throws(MongoError) -> (T, [String]) {
        sink.state.withLock { $0.warnings = [] }
        let result: T
        do {
            result = try body()
        } catch {
            sink.state.withLock { $0.warnings = nil }
            throw error
        }
        return (result, sink.state.withLock { state in defer { state.warnings = nil }; return state.warnings ?? [] })
    }

    private static func log(level: mongoc_log_level_t, domain: UnsafePointer<CChar>?, message: UnsafePointer<CChar>) {
        let isWarning = [MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL, MONGOC_LOG_LEVEL_WARNING].contains(level)
        let (logger, redactor, captured) = sink.state.withLock { state in
            let captured = isWarning && state.warnings != nil
            if captured { unsafe state.warnings!.append(state.merged.redact(String(cString: message)).trimmingCharacters(in: .whitespacesAndNewlines)) }
            return (state.logger, state.merged, captured)
        }
        guard let logger, !captured else { return }
        let text = unsafe redactor.redact(String(cString: message))
        let domainText = unsafe domain.map { unsafe String(cString: $0) } ?? "mongoc"
        let swiftLevel: Logger.Level
        switch level {
        case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL: swiftLevel = .error
        case MONGOC_LOG_LEVEL_WARNING: swiftLevel = .warning
        case MONGOC_LOG_LEVEL_MESSAGE, MONGOC_LOG_LEVEL_INFO: swiftLevel = .info
        case MONGOC_LOG_LEVEL_DEBUG: swiftLevel = .debug
        default: swiftLevel = .trace
        }
        logger.log(level: swiftLevel, "\(text)", metadata: ["mongoc": "\(redactor.redact(domainText))"])
    }
}
