import CMongoC
import Foundation

/// A server cursor read one document at a time, as libmongoc fetches it batch by batch: the
/// history subcommands print 50,000 instances in the memory of one batch, where
/// `MongoClient.find` would hold them all, and `instances --as-of` walks two cursors side by side.
///
/// Owns C resources: `close()` it (deinit keeps the cleanup, but a debug build stops there).
///
/// `@safe`: it owns its cursor and collection (destroyed once in `close()`), and hands out
/// decoded `BSONValue`s, never the borrowed `bson_t` libmongoc returns.
@safe public final class MongoCursor {
    private var collection: OpaquePointer?
    private var cursor: OpaquePointer?
    private let name: String
    private let redactor: MongoURI.Redactor
    private var count = 0
    /// libmongoc refuses a `next` after the end: it is answered here.
    private var exhausted = false

    /// Documents per `getMore`: a batch of full instance documents stays a few MB, and
    /// 50,000 instances take 100 round trips.
    static let batchSize: Int32 = 500

    init(client: MongoClient, database: String, collection name: String, filter: BSONValue,
         projection: BSONValue?, sort: BSONValue?, limit: Int?) throws(MongoError) {
        self.name = name
        self.redactor = client.uri.redactor
        var opts: [(String, BSONValue)] = [("batchSize", .int32(Self.batchSize))]
        if let projection { opts.append(("projection", projection)) }
        if let sort { opts.append(("sort", sort)) }
        if let limit { opts.append(("limit", .int64(Int64(limit)))) }
        guard let coll = unsafe mongoc_client_get_collection(try client.handle(), database, name) else {
            throw MongoError.rejected("no collection \(name)")
        }
        unsafe collection = unsafe coll
        unsafe cursor = try unsafe MongoClient.withDocument(filter) { f throws(MongoError) in
            try unsafe MongoClient.withDocument(.document(opts)) { o in unsafe mongoc_collection_find_with_opts(coll, f, o, nil) }
        }
        guard unsafe cursor != nil else {
            close()
            throw MongoError.rejected("find on \(name) could not start")
        }
    }

    /// The next document, or nil at the end. A document that cannot be decoded is an error,
    /// never a skip: a reader must not show less than is stored without saying so.
    public func next() throws(MongoError) -> BSONValue? {
        guard let cursor = unsafe cursor, !exhausted else { return nil }
        var doc: OpaquePointer?
        while unsafe mongoc_cursor_next(cursor, &doc) {
            guard let doc = unsafe doc else { continue }
            count += 1
            do {
                return try unsafe MongoClient.decode(doc)
            } catch {
                throw MongoError.unreadable("document \(count) of a find on \(name): \(error)")
            }
        }
        exhausted = true
        var error = bson_error_t()
        if unsafe mongoc_cursor_error(cursor, &error) { throw MongoError(error, redactor: redactor) }
        return nil
    }

    /// Frees the cursor and its collection handle. Idempotent.
    public func close() {
        if let cursor = unsafe cursor { unsafe mongoc_cursor_destroy(cursor) }
        if let collection = unsafe collection { unsafe mongoc_collection_destroy(collection) }
        unsafe cursor = nil
        unsafe collection = nil
    }

    deinit {
        unsafe assert(cursor == nil && collection == nil, "MongoCursor deinitialized without close()")
        close()
    }
}

extension MongoClient {
    /// A cursor over `filter`'s documents; the caller closes it.
    public func cursor(_ database: String, _ collection: String, filter: BSONValue, projection: BSONValue? = nil,
                       sort: BSONValue? = nil, limit: Int? = nil) throws(MongoError) -> MongoCursor {
        try MongoCursor(client: self, database: database, collection: collection, filter: filter,
                        projection: projection, sort: sort, limit: limit)
    }

    /// Every document of `filter` to `body`, one at a time (see `MongoCursor`).
    public func stream(_ database: String, _ collection: String, filter: BSONValue, projection: BSONValue? = nil,
                       sort: BSONValue? = nil, limit: Int? = nil, _ body: (BSONValue) throws -> Void) throws {
        let cursor = try cursor(database, collection, filter: filter, projection: projection, sort: sort, limit: limit)
        defer { cursor.close() }
        while let doc = try cursor.next() { try body(doc) }
    }
}
