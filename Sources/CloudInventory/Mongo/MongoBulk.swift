import CMongoC

extension MongoClient {
    /// An unordered bulk being filled write by write. An update encoded into a `BSONWriter`
    /// goes to libmongoc as soon as it is written, so a page's updates are never all held as
    /// arrays beside libmongoc's own copy of them (the first poll's peak memory).
    ///
    /// `@safe`: noncopyable, it owns its option documents (destroyed in `deinit`); the
    /// operation itself is borrowed from `bulkWrite`, which destroys it after `fill` returns.
    @safe public struct Bulk: ~Copyable {
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
            unsafe self.bulk = unsafe bulk
            self.redactor = redactor
            unsafe upsertOptions = unsafe Self.heapDocument(["upsert": true, "validate": false])
            unsafe updateOptions = unsafe Self.heapDocument(["upsert": false, "validate": false])
        }

        deinit {
            if let upsertOptions = unsafe upsertOptions { unsafe bson_destroy(upsertOptions) }
            if let updateOptions = unsafe updateOptions { unsafe bson_destroy(updateOptions) }
        }

        private static func heapDocument(_ value: BSONValue) -> OpaquePointer? {
            unsafe value.encoded().withUnsafeBufferPointer { unsafe bson_new_from_data($0.baseAddress, $0.count) }
        }

        /// Adds one write.
        public mutating func append(_ model: WriteModel) throws(MongoError) {
            var error = bson_error_t()
            let ok: Bool
            switch model {
            case let .insert(doc):
                ok = try unsafe MongoClient.withDocument(doc) { d in unsafe mongoc_bulk_operation_insert_with_opts(bulk, d, nil, &error) }
            case let .updateOne(filter, update, upsert):
                let options = try unsafe self.options(upsert: upsert)
                ok = try unsafe MongoClient.withDocument(filter) { f throws(MongoError) in
                    try unsafe MongoClient.withDocument(bytes: update.encoded()) { u in
                        unsafe mongoc_bulk_operation_update_one_with_opts(bulk, f, u, options, &error)
                    }
                }
            case let .upsertEncoded(id, update):
                try unsafe update.withUnsafeBytesResult { raw throws(MongoError) in try unsafe upsert(id: id, encoded: raw) }
                return
            case let .updateMany(filter, update):
                ok = try unsafe MongoClient.withDocument(filter) { f throws(MongoError) in
                    try unsafe MongoClient.withDocument(update) { u in unsafe mongoc_bulk_operation_update_many_with_opts(bulk, f, u, nil, &error) }
                }
            }
            if !ok { throw MongoError(error, redactor: redactor) }
            count += 1
        }

        /// An upsert of the document whose `_id` is `id`, by the update in `writer`, which is
        /// copied into the bulk: the writer can be reset for the next one.
        mutating func upsert(id: String, encoded writer: borrowing BSONWriter) throws(MongoError) {
            // libbson copies the bytes during the call; the pointer does not outlive it.
            try writer.withBytes { (bytes) throws(MongoError) in
                try unsafe bytes.withUnsafeBytes { (raw) throws(MongoError) in try unsafe upsert(id: id, encoded: raw) }
            }
        }

        private mutating func upsert(id: String, encoded update: UnsafeRawBufferPointer) throws(MongoError) {
            let options = try unsafe self.options(upsert: true)
            idFilter.reset()
            idFilter.idDocument(id)
            var error = bson_error_t()
            let ok = try idFilter.withBytes { (span) throws(MongoError) in try unsafe span.withUnsafeBytes { filter throws(MongoError) in
                try unsafe filterDocument.with(bytes: filter) { f throws(MongoError) in
                    try unsafe updateDocument.with(bytes: update) { u in
                        unsafe mongoc_bulk_operation_update_one_with_opts(bulk, f, u, options, &error)
                    }
                }
            } }
            if !ok { throw MongoError(error, redactor: redactor) }
            count += 1
        }

        private func options(upsert: Bool) throws(MongoError) -> OpaquePointer {
            guard let options = unsafe upsert ? upsertOptions : updateOptions else {
                throw MongoError.rejected("could not build a BSON document")
            }
            return unsafe options
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
        try unsafe withCollection(database, collection) { coll throws(MongoError) in
            let handle: OpaquePointer = try unsafe Self.withDocument(["ordered": false]) { opts in
                unsafe mongoc_collection_create_bulk_operation_with_opts(coll, opts)
            }
            defer { unsafe mongoc_bulk_operation_destroy(handle) }
            var bulk = unsafe Bulk(handle, redactor: uri.redactor)
            try fill(&bulk)
            guard bulk.count > 0 else { return BulkResult() }
            // Only the counts are read: a failed write is the error, and a bulk of upserts gets
            // back one entry per upserted id (decoding and freeing them was 3% of a first poll).
            var result = BulkResult()
            try unsafe Self.withReply(redactor: uri.redactor, decoded: false) { reply in
                var error = bson_error_t()
                let failed = unsafe mongoc_bulk_operation_execute(handle, reply, &error) == 0
                result = unsafe BulkResult(reply: reply)
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
        matched = unsafe Self.count("nMatched", in: reply)
        modified = unsafe Self.count("nModified", in: reply)
        upserted = unsafe Self.count("nUpserted", in: reply)
    }

    /// A `bson_iter_t` is aligned like a `bson_t` in Debian's build, so it lives in the same
    /// hand-aligned storage (`StaticDocument.allocateStorage`), not on the stack.
    private static func count(_ key: String, in reply: OpaquePointer) -> Int {
        let storage = unsafe StaticDocument.allocateStorage()
        defer { unsafe storage.deallocate() }
        let iter = OpaquePointer(storage)
        guard unsafe bson_iter_init_find(iter, reply, key) else { return 0 }
        switch unsafe bson_iter_type(iter) {
        case BSON_TYPE_INT32: return unsafe Int(bson_iter_int32(iter))
        case BSON_TYPE_INT64: return unsafe Int(bson_iter_int64(iter))
        default: return 0
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws a typed error.
    func withUnsafeBytesResult<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = unsafe withUnsafeBytes { raw in Result { () throws(E) -> T in try unsafe body(raw) } }
        return try result.get()
    }
}
