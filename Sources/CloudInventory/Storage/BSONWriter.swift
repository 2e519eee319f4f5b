import Foundation

/// BSON bytes, appended element by element: the one encoder of the library. `BSONValue`
/// encodes through it, and the storage fast path writes instance documents with it straight
/// from rendered JSON (`appendMembers(ofJSONObject:)`), with no value tree in between.
///
/// The bytes live in memory the writer owns and writes through a pointer: each element is one
/// capacity check and a few stores. (Appending to an `Array` paid a uniqueness and capacity
/// check and a call for every piece of every element: a quarter of the first poll's BSON.)
/// It cannot be copied, so two writers never share, and it frees its memory when it ends.
struct BSONWriter: ~Copyable {
    enum ElementType: UInt8 {
        case double = 0x01, string = 0x02, document = 0x03, array = 0x04, bool = 0x08, date = 0x09, null = 0x0A
        case int32 = 0x10, int64 = 0x12
    }

    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    /// How many bytes are written.
    private(set) var count = 0

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    /// A copy of the bytes written.
    var bytes: [UInt8] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.initialize(from: base.assumingMemoryBound(to: UInt8.self), count: count) }
            initialized = count
        }
    }

    /// `body` with the bytes written, in place.
    func withUnsafeBytes<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Empties the writer and keeps its storage, for a writer reused document after document.
    mutating func reset() { count = 0 }

    /// Room for `n` more bytes, counted as written: the caller stores all of them.
    @inline(__always)
    private mutating func claim(_ n: Int) -> UnsafeMutableRawPointer {
        if n > capacity &- count { grow(to: count + n) }
        let at = base + count
        count += n
        return at
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var room = capacity * 2
        while room < needed { room *= 2 }
        let larger = UnsafeMutableRawPointer.allocate(byteCount: room, alignment: 8)
        larger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = larger
        capacity = room
    }

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
        claim(4).storeBytes(of: 0, as: Int32.self)
        return start
    }

    /// Closes the document opened at `start`: its trailing NUL and its length.
    mutating func end(_ start: Int) {
        claim(1).storeBytes(of: 0, as: UInt8.self)
        (base + start).storeBytes(of: Int32(truncatingIfNeeded: count - start).littleEndian, as: Int32.self)
    }

    /// An element's type and key. A key as a C string: NUL bytes (which would end it early)
    /// are left out, without a copy of the key when it has none, as model names never do.
    mutating func key(_ type: ElementType, _ key: String) {
        var key = key
        key.withUTF8 { utf8 in
            if utf8.isEmpty || memchr(utf8.baseAddress!, 0, utf8.count) == nil {
                self.key(type, plain: utf8)
            } else {
                let kept = utf8.filter { $0 != 0 }
                kept.withUnsafeBufferPointer { self.key(type, plain: $0) }
            }
        }
    }

    /// A key known to hold no NUL (a plain printable-ASCII run of JSON text).
    mutating func key(_ type: ElementType, plain key: UnsafeBufferPointer<UInt8>) {
        let at = claim(key.count + 2)
        at.storeBytes(of: type.rawValue, as: UInt8.self)
        if key.count > 0 { (at + 1).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        (at + 1 + key.count).storeBytes(of: 0, as: UInt8.self)
    }

    /// An array element's key, "0", "1", ...: written without a String per index.
    mutating func index(_ type: ElementType, _ i: Int) {
        if i < 10 {
            let at = claim(3)
            at.storeBytes(of: type.rawValue, as: UInt8.self)
            (at + 1).storeBytes(of: UInt8(ascii: "0") + UInt8(i), as: UInt8.self)
            (at + 2).storeBytes(of: 0, as: UInt8.self)
        } else {
            var digits = String(i)
            digits.withUTF8 { key(type, plain: $0) }
        }
    }

    /// Where the last element's type byte is, for a writer that learns the type after the
    /// key (a JSON number is an int32, an int64 or a double only once it is read).
    mutating func retype(at position: Int, _ type: ElementType) {
        precondition(position >= 0 && position < count, "retype outside the written bytes")
        (base + position).storeBytes(of: type.rawValue, as: UInt8.self)
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(utf8: $0) }
    }

    mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        let at = claim(utf8.count + 5)
        at.storeBytes(of: Int32(truncatingIfNeeded: utf8.count + 1).littleEndian, as: Int32.self)
        if utf8.count > 0 { (at + 4).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
        (at + 4 + utf8.count).storeBytes(of: 0, as: UInt8.self)
    }

    mutating func int32(_ i: Int32) { claim(4).storeBytes(of: i.littleEndian, as: Int32.self) }
    mutating func int64(_ i: Int64) { claim(8).storeBytes(of: i.littleEndian, as: Int64.self) }
    mutating func double(_ d: Double) { claim(8).storeBytes(of: d.bitPattern.littleEndian, as: UInt64.self) }
    mutating func bool(_ b: Bool) { claim(1).storeBytes(of: b ? 1 : 0, as: UInt8.self) }
}
