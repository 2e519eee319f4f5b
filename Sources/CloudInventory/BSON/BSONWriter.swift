@_spi(Bytes) import AWSCore

/// BSON bytes, appended element by element: the one encoder of the library. `BSONValue`
/// encodes through it, and the storage fast path writes instance documents with it straight
/// from rendered JSON (`appendMembers(ofJSONObject:)`), with no value tree in between.
///
/// The bytes live in an `OutputBuffer` (8-byte aligned, as libbson reads them in place):
/// each element is one capacity check and a few bounds-checked stores. (Appending to an
/// `Array` paid a uniqueness and capacity check and a call for every piece of every element:
/// a quarter of the first poll's BSON.) It cannot be copied, so two writers never share.
struct BSONWriter: ~Copyable {
    enum ElementType: UInt8 {
        case double = 0x01, string = 0x02, document = 0x03, array = 0x04, bool = 0x08, date = 0x09, null = 0x0A
        case int32 = 0x10, int64 = 0x12
    }

    private let out: OutputBuffer

    init(capacity: Int = 256) {
        out = OutputBuffer(capacity: capacity)
    }

    /// How many bytes are written.
    var count: Int { out.count }

    /// A copy of the bytes written.
    var bytes: [UInt8] { out.bytes }

    /// `body` with the bytes written, in place.
    func withBytes<T, E: Error>(_ body: (Span<UInt8>) throws(E) -> T) throws(E) -> T {
        try out.withBytes(body)
    }

    /// Empties the writer and keeps its storage, for a writer reused document after document.
    mutating func reset() { out.reset() }

    /// The document `{_id: id}`: the filter of every upsert by id.
    mutating func idDocument(_ id: String) {
        let start = begin()
        key(.string, "_id")
        string(id)
        end(start)
    }

    /// Opens a document (or array); `end(_:)` with the returned mark closes it.
    mutating func begin() -> Int {
        let start = count
        int32(0)
        return start
    }

    /// Closes the document opened at `start`: its trailing NUL and its length.
    mutating func end(_ start: Int) {
        out.append(0)
        out.store(Int32(truncatingIfNeeded: count - start).littleEndian, at: start)
    }

    /// An element's type and key. A key as a C string: NUL bytes (which would end it early)
    /// are left out, without a copy of the key when it has none, as model names never do.
    mutating func key(_ type: ElementType, _ key: String) {
        let utf8 = key.utf8.span
        if ByteCursor().firstIndex(of: 0, in: utf8) == nil {
            self.key(type, plain: utf8)
        } else {
            let kept = key.utf8.filter { $0 != 0 }
            self.key(type, plain: kept.span)
        }
    }

    /// A key known to hold no NUL (a plain printable-ASCII run of JSON text): the transcoder
    /// writes a million a poll.
    mutating func key(_ type: ElementType, plain key: Span<UInt8>) {
        out.append(type.rawValue, key, 0)
    }

    /// An array element's key, "0", "1", ...: written without a String per index.
    mutating func index(_ type: ElementType, _ i: Int) {
        if i < 10 {
            out.reserve(3)
            out.append(type.rawValue)
            out.append(UInt8(ascii: "0") + UInt8(i))
            out.append(0)
        } else {
            key(type, String(i))
        }
    }

    /// Where the last element's type byte is, for a writer that learns the type after the
    /// key (a JSON number is an int32, an int64 or a double only once it is read).
    mutating func retype(at position: Int, _ type: ElementType) {
        out.store(type.rawValue, at: position)
    }

    mutating func string(_ s: String) {
        string(utf8: s.utf8.span)
    }

    mutating func string(utf8: Span<UInt8>) {
        out.appendLengthPrefixed(utf8)
    }

    mutating func int32(_ i: Int32) { out.append(littleEndian: i) }
    mutating func int64(_ i: Int64) { out.append(littleEndian: i) }
    mutating func double(_ d: Double) { out.append(littleEndian: d.bitPattern) }
    mutating func bool(_ b: Bool) { out.append(b ? 1 : 0) }
}
