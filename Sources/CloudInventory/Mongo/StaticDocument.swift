import CMongoC

/// A `bson_t` over bytes it does not own (`bson_init_static`), in storage kept for a whole
/// bulk: an encoded update reaches libmongoc without a heap document made, filled and freed
/// for it (libmongoc copies it into the bulk's command anyway).
///
/// The storage is aligned as Debian's `BSON_EXTRA_ALIGN` build of libbson expects (128
/// bytes), so it is allocated by hand; a stack or Swift-allocated `bson_t` would not be.
/// Safe to use: it owns its 512 bytes from `init` to `deinit`, and lends them to libbson only
/// inside `with(bytes:_:)`.
@safe struct StaticDocument: ~Copyable {
    private let storage: UnsafeMutableRawPointer

    init() { unsafe storage = Self.allocateStorage() }

    /// Zeroed room for one `bson_t`, aligned as Debian's libbson expects; the caller
    /// deallocates it. Also where libmongoc writes a reply (`MongoClient.withReply`).
    static func allocateStorage() -> UnsafeMutableRawPointer {
        // unsafe: a fresh allocation of 512 bytes, all of them initialized here.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 128)
        unsafe storage.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        return unsafe storage
    }

    deinit { unsafe storage.deallocate() }

    /// `body` with the document whose bytes are `bytes` (a whole document, its length first);
    /// the document is only valid inside `body`, while `bytes` is.
    func with<T>(bytes: UnsafeRawBufferPointer, _ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        // unsafe: libbson's `bson_t` lives in `storage` (room and alignment it expects), over
        // `bytes`, for `body`'s duration only.
        let document = unsafe OpaquePointer(storage)
        guard let data = bytes.baseAddress,
              unsafe bson_init_static(document, data.assumingMemoryBound(to: UInt8.self), bytes.count) else {
            throw MongoError.rejected("could not build a BSON document")
        }
        defer { unsafe bson_destroy(document) }
        return try unsafe body(document)
    }
}
