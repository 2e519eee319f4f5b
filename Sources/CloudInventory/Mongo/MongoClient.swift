import CMongoC
import Foundation
import Logging
import Synchronization

/// A thin wrapper over one `mongoc_client_t`. Not shared between threads: libmongoc's
/// single-threaded client is the right tool for one run. `close()` frees it.
///
/// `@safe`: it owns its `mongoc_client_t` (created in `init`, destroyed once in `close()`),
/// and its interface takes and returns only Swift values.
@safe public final class MongoClient {
    public let uri: MongoURI
    private var client: OpaquePointer?
    private var runtimeToken: Int?
    private let logger: Logger

    /// Parses `uri`, applies the defaults (appname, a short server selection timeout,
    /// retryable writes, majority writes on replica sets) where the URI is silent, and
    /// creates the client. Connecting happens lazily, on the first command. The first client
    /// of the process initializes libmongoc (`MongoRuntime`).
    public init(uri: MongoURI, logger: Logger) throws(MongoError) {
        self.uri = uri
        self.logger = logger
        let token = MongoRuntime.register(logger: logger, redactor: uri.redactor)
        do {
            unsafe client = try unsafe Self.makeClient(uri)
        } catch {
            MongoRuntime.unregister(token)
            throw error
        }
        runtimeToken = token
    }

    /// A URI that breaks a rule of `MongoURI.problem`, that libmongoc refuses, or about which
    /// it warns while parsing (an unknown option, a value it ignores) is a bad URI: one error,
    /// libmongoc's words redacted, and none of its log lines (`MongoRuntime.capturingWarnings`).
    private static func makeClient(_ uri: MongoURI) throws(MongoError) -> OpaquePointer {
        if let problem = uri.problem { throw MongoError.badURI("\(uri.redacted): \(problem)") }
        let (client, warnings) = try unsafe MongoRuntime.capturingWarnings { () throws(MongoError) in try unsafe parseAndCreate(uri) }
        if let warning = warnings.first {
            unsafe mongoc_client_destroy(client)
            throw MongoError.badURI("\(warning) in \(uri.redacted)")
        }
        return unsafe client
    }

    private static func parseAndCreate(_ uri: MongoURI) throws(MongoError) -> OpaquePointer {
        var error = bson_error_t()
        guard let parsed = unsafe mongoc_uri_new_with_error(uri.raw, &error) else {
            throw MongoError.badURI("\(MongoError(error, redactor: uri.redactor).message) in \(uri.redacted)")
        }
        defer { unsafe mongoc_uri_destroy(parsed) }
        if unsafe mongoc_uri_get_appname(parsed) == nil { unsafe mongoc_uri_set_appname(parsed, "inventory-poller") }
        if unsafe !mongoc_uri_has_option(parsed, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
            unsafe mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000)
        }
        if unsafe !mongoc_uri_has_option(parsed, MONGOC_URI_CONNECTTIMEOUTMS) {
            unsafe mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_CONNECTTIMEOUTMS, 5000)
        }
        if unsafe !mongoc_uri_has_option(parsed, MONGOC_URI_RETRYWRITES) {
            unsafe mongoc_uri_set_option_as_bool(parsed, MONGOC_URI_RETRYWRITES, true)
        }
        let isReplicaSet = unsafe mongoc_uri_get_replica_set(parsed) != nil || uri.raw.hasPrefix("mongodb+srv://")
        if isReplicaSet, unsafe !mongoc_uri_has_option(parsed, MONGOC_URI_W) {
            let wc = unsafe mongoc_write_concern_new()
            unsafe mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY)
            unsafe mongoc_uri_set_write_concern(parsed, wc)
            unsafe mongoc_write_concern_destroy(wc)
        }
        guard let client = unsafe mongoc_client_new_from_uri_with_error(parsed, &error) else {
            throw MongoError.badURI("\(MongoError(error, redactor: uri.redactor).message) in \(uri.redacted)")
        }
        unsafe mongoc_client_set_error_api(client, Int32(MONGOC_ERROR_API_VERSION_2))
        return unsafe client
    }

    /// Frees the client if `close()` was forgotten, but a debug build stops there: C
    /// resources are released explicitly, at a point the code chooses.
    deinit {
        unsafe assert(client == nil, "MongoClient deinitialized without close()")
        close()
    }

    /// Frees the libmongoc client. Idempotent. libmongoc itself is torn down at process exit.
    public func close() {
        if let client = unsafe client { unsafe mongoc_client_destroy(client) }
        unsafe client = nil
        if let runtimeToken { MongoRuntime.unregister(runtimeToken) }
        runtimeToken = nil
    }

    func handle() throws(MongoError) -> OpaquePointer {
        guard let client = unsafe client else { throw MongoError.unreachable("client used after close()") }
        return unsafe client
    }

    /// Runs a database command and returns its reply.
    @discardableResult
    public func command(_ database: String, _ command: BSONValue) throws(MongoError) -> BSONValue {
        let client = try unsafe handle()
        return try unsafe Self.withDocument(command) { cmd throws(MongoError) in
            try unsafe Self.withReply(redactor: uri.redactor) { reply in
                var error = bson_error_t()
                let ok = unsafe mongoc_client_command_simple(client, database, cmd, nil, reply, &error)
                return ok ? nil : error
            }
        }
    }

    /// All documents matching `filter`, in server order. One round trip per batch.
    public func find(_ database: String, _ collection: String, filter: BSONValue, projection: BSONValue? = nil,
                     sort: BSONValue? = nil, limit: Int? = nil) throws(MongoError) -> [BSONValue] {
        var opts: [(String, BSONValue)] = [("batchSize", .int32(100_000))]
        if let projection { opts.append(("projection", projection)) }
        if let sort { opts.append(("sort", sort)) }
        if let limit { opts.append(("limit", .int64(Int64(limit)))) }
        return try unsafe withCollection(database, collection) { coll throws(MongoError) in
            try unsafe Self.withDocument(filter) { f throws(MongoError) in
                try unsafe Self.withDocument(.document(opts)) { o throws(MongoError) in
                    guard let cursor = unsafe mongoc_collection_find_with_opts(coll, f, o, nil) else {
                        throw MongoError.rejected("find on \(collection) could not start")
                    }
                    defer { unsafe mongoc_cursor_destroy(cursor) }
                    return try unsafe drain(cursor, collection: collection)
                }
            }
        }
    }

    /// Every document of `cursor`. One that cannot be decoded is an error, never a skip: a
    /// known instance read as absent would be written as a false `appeared` event.
    private func drain(_ cursor: OpaquePointer, collection: String) throws(MongoError) -> [BSONValue] {
        var results: [BSONValue] = []
        var doc: OpaquePointer?
        while unsafe mongoc_cursor_next(cursor, &doc) {
            guard let doc = unsafe doc else { continue }
            do {
                unsafe results.append(try Self.decode(doc))
            } catch {
                throw MongoError.unreadable("document \(results.count + 1) of a find on \(collection): \(error)")
            }
        }
        var error = bson_error_t()
        if unsafe mongoc_cursor_error(cursor, &error) { throw MongoError(error, redactor: uri.redactor) }
        return results
    }

    /// `body` with a handle on `collection`, destroyed after it.
    func withCollection<T>(_ database: String, _ collection: String,
                                   _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let client = try unsafe handle()
        guard let coll = unsafe mongoc_client_get_collection(client, database, collection) else {
            throw MongoError.rejected("no collection \(collection)")
        }
        defer { unsafe mongoc_collection_destroy(coll) }
        return try unsafe body(coll)
    }

    /// One write in an unordered bulk.
    public enum WriteModel: Sendable {
        case insert(BSONValue)
        case updateOne(filter: BSONValue, update: BSONValue, upsert: Bool)
        case updateMany(filter: BSONValue, update: BSONValue)
        /// An upsert of the document whose `_id` is `id`, by an update encoded already: the
        /// storage fast path writes a new instance's update from its rendered JSON
        /// (`InstanceUpdate.firstSighting`) and every event this way, with no value tree.
        case upsertEncoded(id: String, update: [UInt8])
    }

    // MARK: bson_t plumbing

    /// A heap `bson_t` holding `value`'s bytes, destroyed after `body`.
    static func withDocument<T>(_ value: BSONValue, _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        try unsafe withDocument(bytes: value.encoded(), body)
    }

    /// A heap `bson_t` holding `bytes` (a whole document), destroyed after `body`.
    static func withDocument<T>(bytes: [UInt8], _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let doc: OpaquePointer? = unsafe bytes.withUnsafeBufferPointer { unsafe bson_new_from_data($0.baseAddress, $0.count) }
        guard let doc = unsafe doc else { throw MongoError.rejected("could not build a BSON document") }
        defer { unsafe bson_destroy(doc) }
        return try unsafe body(doc)
    }

    /// Storage for a reply `bson_t` that libmongoc initializes itself, aligned as Debian's
    /// `BSON_EXTRA_ALIGN` build expects (`StaticDocument.allocateStorage`).
    @discardableResult
    static func withReply(redactor: MongoURI.Redactor, decoded: Bool = true,
                                  _ body: (OpaquePointer) -> bson_error_t?) throws(MongoError) -> BSONValue {
        let storage = unsafe StaticDocument.allocateStorage()
        defer { unsafe storage.deallocate() }
        let reply = OpaquePointer(storage)
        let error = unsafe body(reply)
        defer { unsafe bson_destroy(reply) }
        if let error { throw MongoError(error, redactor: redactor) }
        return unsafe decoded ? (try? decode(reply)) ?? .document([]) : .document([])
    }

    static func decode(_ doc: OpaquePointer) throws -> BSONValue {
        guard let data = unsafe bson_get_data(doc) else { return .document([]) }
        // libbson keeps a document contiguous: its first 4 bytes are its whole length.
        var length: Int32 = 0
        unsafe withUnsafeMutableBytes(of: &length) { unsafe $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: 4)) }
        // unsafe: libbson's document is `length` bytes at `data` (its own length prefix), alive until `doc` is destroyed after this call.
        return try BSONValue.decode(unsafe UnsafeBufferPointer(start: data, count: Int(Int32(littleEndian: length))).span)
    }
}
