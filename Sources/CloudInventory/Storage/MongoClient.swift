import CMongoC
import Foundation
import Logging
import Synchronization

/// A thin wrapper over one `mongoc_client_t`. Not shared between threads: libmongoc's
/// single-threaded client is the right tool for one run. `close()` frees it.
public final class MongoClient {
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
            client = try Self.makeClient(uri)
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
        let (client, warnings) = try MongoRuntime.capturingWarnings { () throws(MongoError) in try parseAndCreate(uri) }
        if let warning = warnings.first {
            mongoc_client_destroy(client)
            throw MongoError.badURI("\(warning) in \(uri.redacted)")
        }
        return client
    }

    private static func parseAndCreate(_ uri: MongoURI) throws(MongoError) -> OpaquePointer {
        var error = bson_error_t()
        guard let parsed = mongoc_uri_new_with_error(uri.raw, &error) else {
            throw MongoError.badURI("\(MongoError(error, redactor: uri.redactor).message) in \(uri.redacted)")
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
            throw MongoError.badURI("\(MongoError(error, redactor: uri.redactor).message) in \(uri.redacted)")
        }
        mongoc_client_set_error_api(client, Int32(MONGOC_ERROR_API_VERSION_2))
        return client
    }

    /// Frees the client if `close()` was forgotten, but a debug build stops there: C
    /// resources are released explicitly, at a point the code chooses.
    deinit {
        assert(client == nil, "MongoClient deinitialized without close()")
        close()
    }

    /// Frees the libmongoc client. Idempotent. libmongoc itself is torn down at process exit.
    public func close() {
        if let client { mongoc_client_destroy(client) }
        client = nil
        if let runtimeToken { MongoRuntime.unregister(runtimeToken) }
        runtimeToken = nil
    }

    func handle() throws(MongoError) -> OpaquePointer {
        guard let client else { throw MongoError.unreachable("client used after close()") }
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
    public func find(_ database: String, _ collection: String, filter: BSONValue, projection: BSONValue? = nil,
                     sort: BSONValue? = nil, limit: Int? = nil) throws(MongoError) -> [BSONValue] {
        var opts: [(String, BSONValue)] = [("batchSize", .int32(100_000))]
        if let projection { opts.append(("projection", projection)) }
        if let sort { opts.append(("sort", sort)) }
        if let limit { opts.append(("limit", .int64(Int64(limit)))) }
        return try withCollection(database, collection) { coll throws(MongoError) in
            try Self.withDocument(filter) { f throws(MongoError) in
                try Self.withDocument(.document(opts)) { o throws(MongoError) in
                    guard let cursor = mongoc_collection_find_with_opts(coll, f, o, nil) else {
                        throw MongoError.rejected("find on \(collection) could not start")
                    }
                    defer { mongoc_cursor_destroy(cursor) }
                    return try drain(cursor, collection: collection)
                }
            }
        }
    }

    /// Every document of `cursor`. One that cannot be decoded is an error, never a skip: a
    /// known instance read as absent would be written as a false `appeared` event.
    private func drain(_ cursor: OpaquePointer, collection: String) throws(MongoError) -> [BSONValue] {
        var results: [BSONValue] = []
        var doc: OpaquePointer?
        while mongoc_cursor_next(cursor, &doc) {
            guard let doc else { continue }
            do {
                results.append(try Self.decode(doc))
            } catch {
                throw MongoError.unreadable("document \(results.count + 1) of a find on \(collection): \(error)")
            }
        }
        var error = bson_error_t()
        if mongoc_cursor_error(cursor, &error) { throw MongoError(error, redactor: uri.redactor) }
        return results
    }

    /// `body` with a handle on `collection`, destroyed after it.
    func withCollection<T>(_ database: String, _ collection: String,
                                   _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let client = try handle()
        guard let coll = mongoc_client_get_collection(client, database, collection) else {
            throw MongoError.rejected("no collection \(collection)")
        }
        defer { mongoc_collection_destroy(coll) }
        return try body(coll)
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
        try withDocument(bytes: value.encoded(), body)
    }

    /// A heap `bson_t` holding `bytes` (a whole document), destroyed after `body`.
    static func withDocument<T>(bytes: [UInt8], _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let doc: OpaquePointer? = bytes.withUnsafeBufferPointer { bson_new_from_data($0.baseAddress, $0.count) }
        guard let doc else { throw MongoError.rejected("could not build a BSON document") }
        defer { bson_destroy(doc) }
        return try body(doc)
    }

    /// Storage for a reply `bson_t` that libmongoc initializes itself, aligned as Debian's
    /// `BSON_EXTRA_ALIGN` build expects (`StaticDocument.allocateStorage`).
    @discardableResult
    static func withReply(redactor: MongoURI.Redactor, decoded: Bool = true,
                                  _ body: (OpaquePointer) -> bson_error_t?) throws(MongoError) -> BSONValue {
        let storage = StaticDocument.allocateStorage()
        defer { storage.deallocate() }
        let reply = OpaquePointer(storage)
        let error = body(reply)
        defer { bson_destroy(reply) }
        if let error { throw MongoError(error, redactor: redactor) }
        return decoded ? (try? decode(reply)) ?? .document([]) : .document([])
    }

    static func decode(_ doc: OpaquePointer) throws -> BSONValue {
        guard let data = bson_get_data(doc) else { return .document([]) }
        var length: Int32 = 0
        withUnsafeMutableBytes(of: &length) { $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: 4)) }
        // unsafe: libbson's document is `length` bytes at `data` (its own length prefix), alive until `doc` is destroyed after this call.
        return try BSONValue.decode(unsafe UnsafeBufferPointer(start: data, count: Int(Int32(littleEndian: length))).span)
    }
}
