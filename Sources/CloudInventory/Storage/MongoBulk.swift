import CMongoC

extension MongoClient {
    /// An unordered bulk being filled write by write. An update encoded into a `BSONWriter`
    /// goes to libmongoc as soon as it is written, so a page's updates are never all held as
    /// arrays beside libmongoc's own copy of them (the first poll's peak memory).
    public struct Bulk: ~Copyable {
        private let bulk: OpaquePointer
        private let redactor: MongoURI.Redactor
        /// The update options are the same for every write: two documents per bulk, not one
        /// per update. Validation off: documents built here are valid UTF-8 (Swift strings)
        /// with keys from the model, and libmongoc's UTF-8 check was 7% of a first poll.
        private let upsertOptions: OpaquePointer?, updateOptions: OpaquePointer?
        private var idFilter = BSONWriter(capacity: 128)
        private let filterDocument = StaticDocument(), updateDocument = StaticDocument()
        /// How many writes were added.
        private(set) var count = 0

        fileprivate init(_ bulk: OpaquePointer, redactor: MongoURI.Redactor) {
            self.bulk = bulk
            self.redactor = redactor
            upsertOptions = Self.heapDocument(["upsert": true, "validate": false])
            updateOptions = Self.heapDocument(["upsert": false, "validate": false])
        }

        deinit {
            if let upsertOptions { bson_destroy(upsertOptions) }
            if let updateOptions { bson_destroy(updateOptions) }
        }

        private static func heapDocument(_ value: BSONValue) -> OpaquePointer? {
            value.encoded().withUnsafeBufferPointer { bson_new_from_data($0.baseAddress, $0.count) }
        }

        /// Adds one write.
        public mutating func append(_ model: WriteModel) throws(MongoError) {
            var error = bson_error_t()
            let ok: Bool
            switch model {
            case let .insert(doc):
                ok = try MongoClient.withDocument(doc) { d in mongoc_bulk_operation_insert_with_opts(bulk, d, nil, &error) }
            case let .updateOne(filter, update, upsert):
                let options = try self.options(upsert: upsert)
                ok = try MongoClient.withDocument(filter) { f throws(MongoError) in
                    try MongoClient.withDocument(bytes: update.encoded()) { u in
                        mongoc_bulk_operation_update_one_with_opts(bulk, f, u, options, &error)
                    }
                }
            case let .upsertEncoded(id, update):
                try update.withUnsafeBytesResult { raw throws(MongoError) in try upsert(id: id, encoded: raw) }
                return
            case let .updateMany(filter, update):
                ok = try MongoClient.withDocument(filter) { f throws(MongoError) in
                    try MongoClient.withDocument(update) { u in mongoc_bulk_operation_update_many_with_opts(bulk, f, u, nil, &error) }
                }
            }
            if !ok { throw MongoError(error, redactor: redactor) }
            count += 1
        }

        /// An upsert of the document whose `_id` is `id`, by the update in `writer`, which is
        /// copied into the bulk: the writer can be reset for the next one.
        mutating func upsert(id: String, encoded writer: borrowing BSONWriter) throws(MongoError) {
            try writer.withUnsafeBytes { raw throws(MongoError) in try upsert(id: id, encoded: raw) }
        }

        private mutating func upsert(id: String, encoded update: UnsafeRawBufferPointer) throws(MongoError) {
            let options = try self.options(upsert: true)
            idFilter.reset()
            idFilter.idDocument(id)
            var error = bson_error_t()
            let ok = try idFilter.withUnsafeBytes { filter throws(MongoError) in
                try filterDocument.with(bytes: filter) { f throws(MongoError) in
                    try updateDocument.with(bytes: update) { u in
                        mongoc_bulk_operation_update_one_with_opts(bulk, f, u, options, &error)
                    }
                }
            }
            if !ok { throw MongoError(error, redactor: redactor) }
            count += 1
        }

        private func options(upsert: Bool) throws(MongoError) -> OpaquePointer {
            guard let options = upsert ? upsertOptions : updateOptions else {
                throw MongoError.rejected("could not build a BSON document")
            }
            return options
        }
    }

    /// Executes `models` as one unordered bulk. Consecutive models of one kind travel in one
    /// command, so a bulk of updates is one round trip however many documents it touches.
    /// An empty bulk is skipped (libmongoc refuses it).
    @discardableResult
    public func bulkWrite(_ database: String, _ collection: String, _ models: [WriteModel]) throws(MongoError) -> BulkResult {
        guard !models.isEmpty else { return BulkResult() }
        return try bulkWrite(database, collection) { bulk throws(MongoError) in
            for model in models { try bulk.append(model) }
        }
    }

    /// One unordered bulk on `collection`, filled by `fill`, then executed (skipped when
    /// `fill` added nothing). Filling writes nothing, so `fill` may fail with nothing written,
    /// and a write `fill` itself runs (another bulk) reaches the server before this one.
    @discardableResult
    public func bulkWrite(_ database: String, _ collection: String,
                          _ fill: (inout Bulk) throws(MongoError) -> Void) throws(MongoError) -> BulkResult {
        try withCollection(database, collection) { coll throws(MongoError) in
            let handle: OpaquePointer = try Self.withDocument(["ordered": false]) { opts in
                mongoc_collection_create_bulk_operation_with_opts(coll, opts)
            }
            defer { mongoc_bulk_operation_destroy(handle) }
            var bulk = Bulk(handle, redactor: uri.redactor)
            try fill(&bulk)
            guard bulk.count > 0 else { return BulkResult() }
            // Only the counts are read: a failed write is the error, and a bulk of upserts gets
            // back one entry per upserted id (decoding and freeing them was 3% of a first poll).
            var result = BulkResult()
            try Self.withReply(redactor: uri.redactor, decoded: false) { reply in
                var error = bson_error_t()
                let failed = mongoc_bulk_operation_execute(handle, reply, &error) == 0
                result = BulkResult(reply: reply)
                return failed ? error : nil
            }
            return result
        }
    }
}

/// What a bulk did, by count: how many documents its filters matched, how many it changed,
/// and how many its upserts inserted. A conditional write that matched fewer documents than
/// it named lost them to another writer.
public struct BulkResult: Sendable, Equatable {
    public var matched = 0
    public var modified = 0
    public var upserted = 0

    public init(matched: Int = 0, modified: Int = 0, upserted: Int = 0) {
        self.matched = matched
        self.modified = modified
        self.upserted = upserted
    }

    /// The counts of libmongoc's bulk reply (`nMatched`, `nModified`, `nUpserted`), read
    /// without decoding the reply's per-upsert entries.
    init(reply: OpaquePointer) {
        matched = Self.count("nMatched", in: reply)
        modified = Self.count("nModified", in: reply)
        upserted = Self.count("nUpserted", in: reply)
    }

    /// A `bson_iter_t` is aligned like a `bson_t` in Debian's build, so it lives in the same
    /// hand-aligned storage (`StaticDocument.allocateStorage`), not on the stack.
    private static func count(_ key: String, in reply: OpaquePointer) -> Int {
        let storage = StaticDocument.allocateStorage()
        defer { storage.deallocate() }
        let iter = OpaquePointer(storage)
        guard bson_iter_init_find(iter, reply, key) else { return 0 }
        switch bson_iter_type(iter) {
        case BSON_TYPE_INT32: return Int(bson_iter_int32(iter))
        case BSON_TYPE_INT64: return Int(bson_iter_int64(iter))
        default: return 0
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws a typed error.
    func withUnsafeBytesResult<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = withUnsafeBytes { raw in Result { () throws(E) -> T in try body(raw) } }
        return try result.get()
    }
}
