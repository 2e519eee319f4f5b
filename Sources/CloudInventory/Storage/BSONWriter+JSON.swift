/// JSON straight to BSON, for instance documents the storage fast path writes from rendered
/// JSON: the same elements `BSONValue(JSONValue.parse(json))` would encode (integers that fit
/// in 32 bits as int32, others as int64, key order kept), with no value tree in between.
/// Total: the parser's own rules, depth cap and errors; anything it refuses throws here too.
extension BSONWriter {
    /// The members of the JSON object in `bytes[range]`, appended as elements of the document
    /// being written (the caller opened it).
    mutating func appendMembers(ofJSONObject bytes: [UInt8], in range: Range<Int>) throws(JSONValue.ParseError) {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw JSONValue.ParseError(offset: 0, reason: "range outside the text")
        }
        var parser = JSONValue.Parser(bytes: bytes, position: range.lowerBound)
        parser.skipSpace()
        guard parser.position < range.upperBound, bytes[parser.position] == UInt8(ascii: "{") else {
            throw parser.fail("expected an object")
        }
        try parser.members(into: &self, depth: 0)
        // Blanks after the object count only inside the range, as for `parse(bytes[range])`.
        while parser.position < range.upperBound, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[parser.position]) { parser.position += 1 }
        guard parser.position == range.upperBound else { throw parser.fail("trailing characters") }
    }
}

extension JSONValue.Parser {
    /// An object's members as BSON elements; `position` is at its `{`.
    mutating func members(into writer: inout BSONWriter, depth: Int) throws(JSONValue.ParseError) {
        guard depth < 200 else { throw fail("nested too deeply") }
        position += 1
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return }
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let typeAt = writer.count
            if let run = plainASCIIString() {
                bytes.withUnsafeBufferPointer { writer.key(.null, plain: UnsafeBufferPointer(rebasing: $0[run])) }
            } else {
                writer.key(.null, try string())
            }
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            position += 1
            skipSpace()
            try element(into: &writer, typeAt: typeAt, depth: depth + 1)
            skipSpace()
            guard position < bytes.count else { throw fail("truncated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// One value's payload; its element's type byte (at `typeAt`) is set once the value is read.
    mutating func element(into writer: inout BSONWriter, typeAt: Int, depth: Int) throws(JSONValue.ParseError) {
        guard depth < 200 else { throw fail("nested too deeply") }
        guard position < bytes.count else { throw fail("truncated") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            writer.retype(at: typeAt, .document)
            let start = writer.begin()
            try members(into: &writer, depth: depth)
            writer.end(start)
        case UInt8(ascii: "["):
            writer.retype(at: typeAt, .array)
            let start = writer.begin()
            try items(into: &writer, depth: depth)
            writer.end(start)
        case UInt8(ascii: "\""):
            writer.retype(at: typeAt, .string)
            if let run = plainASCIIString() {
                bytes.withUnsafeBufferPointer { writer.string(utf8: UnsafeBufferPointer(rebasing: $0[run])) }
            } else {
                writer.string(try string())
            }
        case UInt8(ascii: "t"): _ = try expect("true", .null); writer.retype(at: typeAt, .bool); writer.bool(true)
        case UInt8(ascii: "f"): _ = try expect("false", .null); writer.retype(at: typeAt, .bool); writer.bool(false)
        case UInt8(ascii: "n"): _ = try expect("null", .null); writer.retype(at: typeAt, .null)
        default:
            switch try number() {
            case let .int(i):
                if let small = Int32(exactly: i) { writer.retype(at: typeAt, .int32); writer.int32(small) } else { writer.retype(at: typeAt, .int64); writer.int64(i) }
            case let .double(d): writer.retype(at: typeAt, .double); writer.double(d)
            default: throw fail("bad number")
            }
        }
    }

    /// An array's items as elements keyed "0", "1", ...; `position` is at its `[`.
    private mutating func items(into writer: inout BSONWriter, depth: Int) throws(JSONValue.ParseError) {
        position += 1
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return }
        var index = 0
        while true {
            skipSpace()
            let typeAt = writer.count
            writer.index(.null, index)
            try element(into: &writer, typeAt: typeAt, depth: depth + 1)
            index += 1
            skipSpace()
            guard position < bytes.count else { throw fail("truncated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// The bytes of a string at `position` that is one run of printable ASCII with no escape
    /// (nearly every string EC2 sends), consumed; nil, with nothing consumed, for any other.
    private mutating func plainASCIIString() -> Range<Int>? {
        let end = bytes.withUnsafeBufferPointer { Word.firstNotPlainASCII($0, from: position + 1) }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        defer { position = end + 1 }
        return (position + 1)..<end
    }
}

extension JSONValue {
    /// This value as the element `key`, as `BSONValue(self)` would write it, without building
    /// that value. Depth is the value's own, which the parser capped.
    func writeElement(_ key: String, to writer: inout BSONWriter) {
        writer.key(bsonType, key)
        writePayload(to: &writer)
    }

    private var bsonType: BSONWriter.ElementType {
        switch self {
        case .null: return .null
        case .bool: return .bool
        case let .int(i): return Int32(exactly: i) == nil ? .int64 : .int32
        case .double: return .double
        case .string: return .string
        case .array: return .array
        case .object: return .document
        }
    }

    private func writePayload(to writer: inout BSONWriter) {
        switch self {
        case .null: break
        case let .bool(b): writer.bool(b)
        case let .int(i): if let small = Int32(exactly: i) { writer.int32(small) } else { writer.int64(i) }
        case let .double(d): writer.double(d)
        case let .string(s): writer.string(s)
        case let .array(items):
            let start = writer.begin()
            for (i, item) in items.enumerated() {
                writer.index(item.bsonType, i)
                item.writePayload(to: &writer)
            }
            writer.end(start)
        case let .object(members):
            let start = writer.begin()
            for member in members { member.value.writeElement(member.key, to: &writer) }
            writer.end(start)
        }
    }
}
