import CMongoC
import Foundation
import Logging
import Synchronization

/// One error type for everything the database can do wrong, told apart the way an operator
/// acts on it: fix the URI, fix the network, or look at what the server refused.
public struct MongoError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The URI does not parse or names an option wrongly. Exit 2.
        case badURI
        /// No server answered, or the connection broke. The poll goes to the spool.
        case unreachable
        /// The server answered and said no (auth, validation, write error). Also spooled.
        case rejected
    }

    public let kind: Kind
    /// Already redacted: never holds the URI's password.
    public let message: String
    public let domain: UInt32
    public let code: UInt32

    public var description: String {
        switch kind {
        case .badURI: return "bad database URI: \(message)"
        case .unreachable: return "database unreachable: \(message)"
        case .rejected: return "database rejected the request: \(message)"
        }
    }

    init(kind: Kind, message: String, domain: UInt32 = 0, code: UInt32 = 0) {
        self.kind = kind
        self.message = message
        self.domain = domain
        self.code = code
    }

    init(_ error: bson_error_t, redactor: MongoURI.Redactor) {
        var e = error
        let message = withUnsafeBytes(of: &e.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let kind: Kind
        switch error.domain {
        case MONGOC_ERROR_STREAM.rawValue, MONGOC_ERROR_SERVER_SELECTION.rawValue, MONGOC_ERROR_PROTOCOL.rawValue:
            kind = .unreachable
        case MONGOC_ERROR_CLIENT.rawValue where error.code != MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue:
            kind = .unreachable
        default:
            kind = .rejected
        }
        self.init(kind: kind, message: redactor.redact(message), domain: error.domain, code: error.code)
    }
}

/// A MongoDB connection string: parsing, redaction, and the defaults an unattended poller wants.
public struct MongoURI: Sendable {
    /// Removes the password (and anything else secret) from text that may quote the URI.
    /// libmongoc 1.23 has no redaction of its own, so every message it produces goes through this.
    public struct Redactor: Sendable {
        var secrets: [String]

        public func redact(_ text: String) -> String {
            var out = text
            for secret in secrets where !secret.isEmpty {
                out = out.replacingOccurrences(of: secret, with: "****")
            }
            return out
        }
    }

    /// The URI as given, with the password replaced by `****`. Safe for any message.
    public let redacted: String
    /// Just `host[:port],...`: for output that must not carry the URI at all (deploy logs).
    public var hosts: String {
        guard let scheme = raw.range(of: "://") else { return "?" }
        var rest = raw[scheme.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return String(rest)
    }
    public let redactor: Redactor
    let raw: String

    public init(_ uri: String) {
        raw = uri
        var secrets: [String] = []
        var redacted = uri
        if let scheme = uri.range(of: "://") {
            let rest = uri[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    let password = String(userinfo[userinfo.index(after: colon)...])
                    secrets.append(password)
                    if let decoded = password.removingPercentEncoding, decoded != password { secrets.append(decoded) }
                    redacted = String(uri[..<scheme.upperBound]) + userinfo[..<colon] + ":****" + uri[at...]
                }
            }
        }
        // Credentials can also ride in options (AWS auth's session token).
        if let q = redacted.firstIndex(of: "?") {
            let options = redacted[redacted.index(after: q)...].split(separator: "&").map { option -> String in
                let lower = option.lowercased()
                if lower.hasPrefix("authmechanismproperties=") || lower.hasPrefix("tlscertificatekeyfilepassword=") {
                    let value = String(option.split(separator: "=", maxSplits: 1).last ?? "")
                    secrets.append(value)
                    return option.split(separator: "=", maxSplits: 1)[0] + "=****"
                }
                return String(option)
            }
            redacted = redacted[..<q] + "?" + options.joined(separator: "&")
        }
        self.redacted = redacted
        self.redactor = Redactor(secrets: secrets.sorted { $0.count > $1.count })
    }
}

/// libmongoc's process-wide state: the log handler, then `mongoc_init`, exactly once, and
/// `mongoc_cleanup` once at exit.
public enum MongoRuntime {
    private final class LogSink: @unchecked Sendable {
        let logger: Mutex<Logger?> = Mutex(nil)
        let redactor: Mutex<MongoURI.Redactor> = Mutex(MongoURI.Redactor(secrets: []))
    }

    private static let sink = LogSink()
    private static let state = Mutex<(initialized: Bool, cleaned: Bool)>((false, false))

    /// Installs the log handler (libmongoc's default writes to stdout, which belongs to
    /// results) and initializes the driver. Later calls only update the logger and redactor.
    public static func initialize(logger: Logger, redactor: MongoURI.Redactor) {
        sink.logger.withLock { $0 = logger }
        sink.redactor.withLock { $0 = redactor }
        state.withLock { state in
            guard !state.initialized else { return }
            let context = Unmanaged.passUnretained(sink).toOpaque()
            mongoc_log_set_handler({ level, domain, message, userData in
                guard let userData, let message else { return }
                let sink = Unmanaged<LogSink>.fromOpaque(userData).takeUnretainedValue()
                guard let logger = sink.logger.withLock({ $0 }) else { return }
                let text = sink.redactor.withLock { $0 }.redact(String(cString: message))
                let domainText = domain.map { String(cString: $0) } ?? "mongoc"
                let swiftLevel: Logger.Level
                switch level {
                case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL: swiftLevel = .error
                case MONGOC_LOG_LEVEL_WARNING: swiftLevel = .warning
                case MONGOC_LOG_LEVEL_MESSAGE, MONGOC_LOG_LEVEL_INFO: swiftLevel = .info
                case MONGOC_LOG_LEVEL_DEBUG: swiftLevel = .debug
                default: swiftLevel = .trace
                }
                logger.log(level: swiftLevel, "\(text)", metadata: ["mongoc": "\(domainText)"])
            }, context)
            mongoc_init()
            state.initialized = true
        }
    }

    /// Call once, after every client is closed.
    public static func cleanup() {
        state.withLock { state in
            guard state.initialized, !state.cleaned else { return }
            mongoc_cleanup()
            state.cleaned = true
        }
    }
}

/// A thin wrapper over one `mongoc_client_t`. Not shared between threads: libmongoc's
/// single-threaded client is the right tool for one run. `close()` frees it.
public final class MongoClient {
    public let uri: MongoURI
    private var client: OpaquePointer?
    private let logger: Logger

    /// Parses `uri`, applies the defaults (appname, a short server selection timeout,
    /// retryable writes, majority writes on replica sets) where the URI is silent, and
    /// creates the client. Connecting happens lazily, on the first command.
    public init(uri: MongoURI, logger: Logger) throws(MongoError) {
        self.uri = uri
        self.logger = logger
        MongoRuntime.initialize(logger: logger, redactor: uri.redactor)
        var error = bson_error_t()
        guard let parsed = mongoc_uri_new_with_error(uri.raw, &error) else {
            throw MongoError(kind: .badURI, message: "\(uri.redactor.redact(MongoError(error, redactor: uri.redactor).message)) in \(uri.redacted)")
        }
        defer { mongoc_uri_destroy(parsed) }
        if mongoc_uri_get_appname(parsed) == nil { mongoc_uri_set_appname(parsed, "inventory-poller") }
        if !mongoc_uri_has_option(parsed, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000)
        }
        if !mongoc_uri_has_option(parsed, MONGOC_URI_CONNECTTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_CONNECTTIMEOUTMS, 5000)
        }
        if !mongoc_uri_has_option(parsed, MONGOC_URI_RETRYWRITES) {
            mongoc_uri_set_option_as_bool(parsed, MONGOC_URI_RETRYWRITES, true)
        }
        let isReplicaSet = mongoc_uri_get_replica_set(parsed) != nil || uri.raw.hasPrefix("mongodb+srv://")
        if isReplicaSet, !mongoc_uri_has_option(parsed, MONGOC_URI_W) {
            let wc = mongoc_write_concern_new()
            mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY)
            mongoc_uri_set_write_concern(parsed, wc)
            mongoc_write_concern_destroy(wc)
        }
        guard let client = mongoc_client_new_from_uri_with_error(parsed, &error) else {
            throw MongoError(kind: .badURI, message: "\(MongoError(error, redactor: uri.redactor).message) in \(uri.redacted)")
        }
        mongoc_client_set_error_api(client, Int32(MONGOC_ERROR_API_VERSION_2))
        self.client = client
    }

    deinit { close() }

    public func close() {
        if let client { mongoc_client_destroy(client) }
        client = nil
    }

    private func handle() throws(MongoError) -> OpaquePointer {
        guard let client else { throw MongoError(kind: .unreachable, message: "client used after close()") }
        return client
    }

    /// Runs a database command and returns its reply.
    @discardableResult
    public func command(_ database: String, _ command: BSONValue) throws(MongoError) -> BSONValue {
        let client = try handle()
        return try Self.withDocument(command) { cmd throws(MongoError) in
            try Self.withReply(redactor: uri.redactor) { reply in
                var error = bson_error_t()
                let ok = mongoc_client_command_simple(client, database, cmd, nil, reply, &error)
                return ok ? nil : error
            }
        }
    }

    /// All documents matching `filter`, in server order. One round trip per batch.
    public func find(_ database: String, _ collection: String, filter: BSONValue, projection: BSONValue? = nil) throws(MongoError) -> [BSONValue] {
        let client = try handle()
        guard let coll = mongoc_client_get_collection(client, database, collection) else {
            throw MongoError(kind: .rejected, message: "no collection \(collection)")
        }
        defer { mongoc_collection_destroy(coll) }
        var opts: [(String, BSONValue)] = [("batchSize", .int32(100_000))]
        if let projection { opts.append(("projection", projection)) }
        return try Self.withDocument(filter) { f throws(MongoError) in
            try Self.withDocument(.document(opts)) { o throws(MongoError) in
                guard let cursor = mongoc_collection_find_with_opts(coll, f, o, nil) else {
                    throw MongoError(kind: .rejected, message: "find on \(collection) could not start")
                }
                defer { mongoc_cursor_destroy(cursor) }
                var results: [BSONValue] = []
                var doc: OpaquePointer?
                while mongoc_cursor_next(cursor, &doc) {
                    if let doc, let decoded = try? Self.decode(doc) { results.append(decoded) }
                }
                var error = bson_error_t()
                if mongoc_cursor_error(cursor, &error) { throw MongoError(error, redactor: uri.redactor) }
                return results
            }
        }
    }

    /// One write in an unordered bulk.
    public enum WriteModel: Sendable {
        case insert(BSONValue)
        case updateOne(filter: BSONValue, update: BSONValue, upsert: Bool)
        case updateMany(filter: BSONValue, update: BSONValue)
    }

    /// Executes `models` as one unordered bulk. Consecutive models of one kind travel in one
    /// command, so a bulk of updates is one round trip however many documents it touches.
    /// An empty bulk is skipped (libmongoc refuses it).
    public func bulkWrite(_ database: String, _ collection: String, _ models: [WriteModel]) throws(MongoError) {
        guard !models.isEmpty else { return }
        let client = try handle()
        guard let coll = mongoc_client_get_collection(client, database, collection) else {
            throw MongoError(kind: .rejected, message: "no collection \(collection)")
        }
        defer { mongoc_collection_destroy(coll) }
        let bulk: OpaquePointer = try Self.withDocument(["ordered": false]) { opts in
            mongoc_collection_create_bulk_operation_with_opts(coll, opts)
        }
        defer { mongoc_bulk_operation_destroy(bulk) }
        for model in models {
            var error = bson_error_t()
            let ok: Bool
            switch model {
            case let .insert(doc):
                ok = try Self.withDocument(doc) { d in mongoc_bulk_operation_insert_with_opts(bulk, d, nil, &error) }
            case let .updateOne(filter, update, upsert):
                ok = try Self.withDocument(filter) { f throws(MongoError) in
                    try Self.withDocument(update) { u throws(MongoError) in
                        try Self.withDocument(["upsert": .bool(upsert)]) { o in
                            mongoc_bulk_operation_update_one_with_opts(bulk, f, u, o, &error)
                        }
                    }
                }
            case let .updateMany(filter, update):
                ok = try Self.withDocument(filter) { f throws(MongoError) in
                    try Self.withDocument(update) { u in mongoc_bulk_operation_update_many_with_opts(bulk, f, u, nil, &error) }
                }
            }
            if !ok { throw MongoError(error, redactor: uri.redactor) }
        }
        try Self.withReply(redactor: uri.redactor) { reply in
            var error = bson_error_t()
            return mongoc_bulk_operation_execute(bulk, reply, &error) == 0 ? error : nil
        }
    }

    // MARK: bson_t plumbing

    /// A heap `bson_t` holding `value`'s bytes, destroyed after `body`.
    static func withDocument<T>(_ value: BSONValue, _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let bytes = value.encoded()
        let doc: OpaquePointer? = bytes.withUnsafeBufferPointer { bson_new_from_data($0.baseAddress, $0.count) }
        guard let doc else { throw MongoError(kind: .rejected, message: "could not build a BSON document") }
        defer { bson_destroy(doc) }
        return try body(doc)
    }

    /// Storage for a reply `bson_t` that libmongoc initializes itself. It must be aligned as
    /// Debian's `BSON_EXTRA_ALIGN` build expects (128 bytes), so it is allocated by hand.
    @discardableResult
    private static func withReply(redactor: MongoURI.Redactor, _ body: (OpaquePointer) -> bson_error_t?) throws(MongoError) -> BSONValue {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 128)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        defer { storage.deallocate() }
        let reply = OpaquePointer(storage)
        let error = body(reply)
        defer { bson_destroy(reply) }
        if let error { throw MongoError(error, redactor: redactor) }
        return (try? decode(reply)) ?? .document([])
    }

    static func decode(_ doc: OpaquePointer) throws -> BSONValue {
        guard let data = bson_get_data(doc) else { return .document([]) }
        var length: Int32 = 0
        withUnsafeMutableBytes(of: &length) { $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: 4)) }
        return try BSONValue.decode(UnsafeRawBufferPointer(start: data, count: Int(Int32(littleEndian: length))))
    }
}
