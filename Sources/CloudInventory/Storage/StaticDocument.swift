import CMongoC

/// A `bson_t` over bytes it does not own (`bson_init_static`), in storage kept for a whole
/// bulk: an encoded update reaches libmongoc without a heap document made, filled and freed
/// for it (libmongoc copies it into the bulk's command anyway).
///
/// The storage is aligned as Debian's `BSON_EXTRA_ALIGN` build of libbson expects (128
/// bytes), so it is allocated by hand; a stack or Swift-allocated `bson_t` would not be.
struct StaticDocument: ~Copyable {
    private let storage: UnsafeMutableRawPointer

    init() { storage = Self.allocateStorage() }

    /// Zeroed room for one `bson_t`, aligned as Debian's libbson expects; the caller
    /// deallocates it. Also where libmongoc writes a reply (`MongoClient.withReply`).
    static func allocateStorage() -> UnsafeMutableRawPointer {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 128)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        return storage
    }

    deinit { storage.deallocate() }

    /// `body` with the document whose bytes are `bytes` (a whole document, its length first);
    /// the document is only valid inside `body`, while `bytes` is.
    func with<T>(bytes: UnsafeRawBufferPointer, _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        let document = OpaquePointer(storage)
        guard let data = bytes.baseAddress,
              bson_init_static(document, data.assumingMemoryBound(to: UInt8.self), bytes.count) else {
            throw MongoError.rejected("could not build a BSON document")
        }
        defer { bson_destroy(document) }
        return try body(document)
    }
}
