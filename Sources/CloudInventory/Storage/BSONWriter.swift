import Foundation

/// BSON bytes, appended element by element: the one encoder of the library. `BSONValue`
/// encodes through it, and the storage fast path writes instance documents with it straight
/// from rendered JSON (`appendMembers(ofJSONObject:)`), with no value tree in between.
struct BSONWriter {
    enum ElementType: UInt8 {
        case double = 0x01, string = 0x02, document = 0x03, array = 0x04, bool = 0x08, date = 0x09, null = 0x0A
        case int32 = 0x10, int64 = 0x12
    }

    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Empties the writer and keeps its storage, for a writer reused document after document.
    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// The document `{_id: id}`: the filter of every upsert by id.
    mutating func idDocument(_ id: String) {
        let start = begin()
        key(.string, "_id")
        string(id)
        end(start)
    }

    /// Opens a document (or array); `end(_:)` with the returned mark closes it.
    mutating func begin() -> Int {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        return start
    }

    /// Closes the document opened at `start`: its trailing NUL and its length.
    mutating func end(_ start: Int) {
        bytes.append(0)
        let length = Int32(truncatingIfNeeded: bytes.count - start).littleEndian
        withUnsafeBytes(of: length) { raw in
            for i in 0..<4 { bytes[start + i] = raw[i] }
        }
    }

    /// An element's type and key. A key as a C string: NUL bytes (which would end it early)
    /// are left out, without a copy of the key when it has none, as model names never do.
    mutating func key(_ type: ElementType, _ key: String) {
        bytes.append(type.rawValue)
        var key = key
        key.withUTF8 { appendKeyBytes($0) }
    }

    /// A key known to hold no NUL (a plain printable-ASCII run of JSON text).
    mutating func key(_ type: ElementType, plain key: UnsafeBufferPointer<UInt8>) {
        bytes.append(type.rawValue)
        bytes.append(contentsOf: key)
        bytes.append(0)
    }

    private mutating func appendKeyBytes(_ utf8: UnsafeBufferPointer<UInt8>) {
        if utf8.isEmpty || memchr(utf8.baseAddress!, 0, utf8.count) == nil {
            bytes.append(contentsOf: utf8)
        } else {
            bytes.append(contentsOf: utf8.lazy.filter { $0 != 0 })
        }
        bytes.append(0)
    }

    /// An array element's key, "0", "1", ...: written without a String per index.
    mutating func index(_ type: ElementType, _ i: Int) {
        bytes.append(type.rawValue)
        if i < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(i))
        } else {
            bytes.append(contentsOf: String(i).utf8)
        }
        bytes.append(0)
    }

    /// Where the last element's type byte is, for a writer that learns the type after the
    /// key (a JSON number is an int32, an int64 or a double only once it is read).
    mutating func retype(at position: Int, _ type: ElementType) { bytes[position] = type.rawValue }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(utf8: $0) }
    }

    mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        int32(Int32(truncatingIfNeeded: utf8.count + 1))
        bytes.append(contentsOf: utf8)
        bytes.append(0)
    }

    mutating func int32(_ i: Int32) { withUnsafeBytes(of: i.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int64(_ i: Int64) { withUnsafeBytes(of: i.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func double(_ d: Double) { withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func bool(_ b: Bool) { bytes.append(b ? 1 : 0) }
}
