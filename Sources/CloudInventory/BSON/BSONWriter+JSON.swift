@_spi(Bytes) import AWSCore

/// JSON straight to BSON, for instance documents the storage fast path writes from rendered
/// JSON: the same elements `BSONValue(JSONValue.parse(json))` would encode (integers that fit
/// in 32 bits as int32, others as int64, key order kept), with no value tree in between.
/// Total: the one grammar (`JSONGrammar`), its rules, depth cap and errors; anything the
/// parser refuses throws here too.
extension BSONWriter {
    /// The members of the JSON object in `bytes[range]`, appended as elements of the document
    /// being written (the caller opened it). Error offsets are into `bytes`.
    mutating func appendMembers(ofJSONObject bytes: [UInt8], in range: Range<Int>) throws(JSONValue.ParseError) {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw JSONValue.ParseError(offset: 0, reason: "range outside the text")
        }
        try appendMembers(ofJSONObject: bytes.span.extracting(range), offsetBy: range.lowerBound)
    }

    mutating func appendMembers(ofJSONObject text: Span<UInt8>, offsetBy base: Int = 0) throws(JSONValue.ParseError) {
        var start = 0
        while start < text.count, JSONGrammar.isSpace(text[start]) { start += 1 }
        guard start < text.count, text[start] == UInt8(ascii: "{") else {
            throw JSONValue.ParseError(offset: base + start, reason: "expected an object")
        }
        do {
            try JSONGrammar.walk(text, into: &self)
        } catch {
            throw JSONValue.ParseError(offset: base + error.offset, reason: error.reason)
        }
    }
}

/// As a JSON visitor, a writer appends the members of the top object to the document its
/// caller opened. A slot is where its element's type byte is, set once the value is read (a
/// JSON number is an int32, an int64 or a double only then); a mark is where an inner
/// document or array began, or -1 for the top object, which is not written.
extension BSONWriter: JSONVisitor {
    static var maximumDepth: Int { JSONValue.maximumDepth }
    static var allowsWhitespace: Bool { true }

    func rootSlot() -> Int { -1 }

    /// The value's type byte; only the top has no element, and the top must be an object.
    private mutating func setType(_ slot: Int, _ type: ElementType) throws(JSONValue.ParseError) {
        guard slot >= 0 else { throw JSONValue.ParseError(offset: 0, reason: "expected an object") }
        retype(at: slot, type)
    }

    mutating func beginObject(in slot: Int, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Int {
        guard depth > 0 else { return -1 }
        try setType(slot, .document)
        return begin()
    }

    mutating func beginArray(in slot: Int, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Int {
        try setType(slot, .array)
        return begin()
    }

    mutating func endObject(_ object: Int, in slot: Int, at offset: Int, text: Span<UInt8>) {
        if object >= 0 { end(object) }
    }

    mutating func endArray(_ array: Int, in slot: Int, at offset: Int, text: Span<UInt8>) { end(array) }

    mutating func key(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in object: Int) -> Int {
        let typeAt = count
        if form == .ascii {
            key(.null, plain: raw)
        } else {
            key(.null, JSONGrammar.text(raw))
        }
        return typeAt
    }

    mutating func key(escaped: String, at offset: Int, in object: Int) -> Int {
        let typeAt = count
        key(.null, escaped)
        return typeAt
    }

    mutating func item(_ index: Int, in array: Int) -> Int {
        let typeAt = count
        self.index(.null, index)
        return typeAt
    }

    mutating func string(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in slot: Int) throws(JSONValue.ParseError) {
        try setType(slot, .string)
        if form == .ascii {
            string(utf8: raw)
        } else {
            string(JSONGrammar.text(raw))
        }
    }

    mutating func string(escaped: String, raw: Span<UInt8>, at offset: Int, in slot: Int) throws(JSONValue.ParseError) {
        try setType(slot, .string)
        string(escaped)
    }

    mutating func number(_ value: JSONNumber, raw: Span<UInt8>, in slot: Int) throws(JSONValue.ParseError) {
        switch value {
        case let .int(i):
            if let small = Int32(exactly: i) {
                try setType(slot, .int32)
                int32(small)
            } else {
                try setType(slot, .int64)
                int64(i)
            }
        case let .double(d):
            try setType(slot, .double)
            double(d)
        }
    }

    mutating func literal(_ value: Bool?, in slot: Int) throws(JSONValue.ParseError) {
        guard let value else { return try setType(slot, .null) }
        try setType(slot, .bool)
        bool(value)
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
