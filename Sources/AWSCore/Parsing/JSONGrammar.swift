/// How a string's bytes stand in the text: what a visitor may take without decoding.
@_spi(Bytes) public enum JSONStringForm: Sendable {
    /// Printable ASCII with no escape: the bytes are the string.
    case ascii
    /// No escape, but a byte of a multi-byte character (possibly invalid UTF-8) or a raw
    /// control byte: the bytes are the string once repaired as UTF-8 (`JSONGrammar.text`).
    case unescaped
    /// At least one escape: the grammar decoded it (`key(escaped:)`, `string(escaped:)`).
    case escaped
}

/// What the one JSON grammar (`JSONGrammar`) reports, in document order. The grammar checks
/// the syntax and throws its own errors; a visitor may refuse anything by throwing too.
///
/// A `Slot` is where the next value goes (the top, a member's key, an item's index), made by
/// the visitor and handed back with that value; a `Mark` is an open object or array, handed
/// back when it closes. Both live in the grammar's frames, so a visitor needs no stack of its
/// own. Generic callers are specialised per visitor: the BSON path pays for no other.
@_spi(Bytes) public protocol JSONVisitor: ~Copyable {
    associatedtype Slot
    associatedtype Mark

    /// Values at this depth or deeper fail ("nested too deeply"): a constant of the visitor,
    /// never taken from the input. The top value is at depth 0.
    static var maximumDepth: Int { get }
    /// RFC 8259 blanks between tokens; the spool writer's own form has none.
    static var allowsWhitespace: Bool { get }

    func rootSlot() -> Slot
    mutating func beginObject(in slot: Slot, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Mark
    /// A member's key, whose opening quote is at `offset`, with no escape: `raw` is its bytes.
    mutating func key(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in object: Mark) throws(JSONValue.ParseError) -> Slot
    /// A key with an escape, decoded. (Apart, so the plain path carries no optional text.)
    mutating func key(escaped: String, at offset: Int, in object: Mark) throws(JSONValue.ParseError) -> Slot
    /// The object's `}` is at `offset` in `text`, the whole text walked.
    mutating func endObject(_ object: Mark, in slot: Slot, at offset: Int, text: Span<UInt8>) throws(JSONValue.ParseError)
    mutating func beginArray(in slot: Slot, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Mark
    mutating func item(_ index: Int, in array: Mark) throws(JSONValue.ParseError) -> Slot
    mutating func endArray(_ array: Mark, in slot: Slot, at offset: Int, text: Span<UInt8>) throws(JSONValue.ParseError)
    /// A string value, as `key`.
    mutating func string(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in slot: Slot) throws(JSONValue.ParseError)
    /// A string with an escape: decoded, and its bytes as they stand.
    mutating func string(escaped: String, raw: Span<UInt8>, at offset: Int, in slot: Slot) throws(JSONValue.ParseError)
    /// A number: an integer that fits in Int64, or else a finite double. `raw` is its text.
    mutating func number(_ value: JSONNumber, raw: Span<UInt8>, in slot: Slot) throws(JSONValue.ParseError)
    /// `true`, `false`, or `null` (nil).
    mutating func literal(_ value: Bool?, in slot: Slot) throws(JSONValue.ParseError)
}

@_spi(Bytes) public enum JSONNumber: Sendable, Equatable {
    case int(Int64)
    case double(Double)
}

/// RFC 8259 JSON, read once, for every reader of JSON in the library: the value tree
/// (`JSONValue.parse`), BSON for the store (`BSONWriter.appendMembers(ofJSONObject:in:)`)
/// and replay's page lines (`SpoolPageReader`). One set of rules (escapes, surrogates,
/// numbers, depth), reviewed once.
///
/// Total: any bytes give the visitor's result or a `JSONValue.ParseError`, never a trap.
/// Every byte is read through the `Span`'s checked subscript or a checked word load; the
/// recursion is capped by the visitor's `maximumDepth`, and nothing is allocated at a size
/// read from the input. Lenient where the first parser was, and kept so: a raw control byte
/// in a string is taken as itself, and invalid UTF-8 is repaired, not refused.
@_spi(Bytes) public struct JSONGrammar {
    @_spi(Bytes) public var position = 0
    /// The text of the last string read, when it had an escape (`JSONStringForm.escaped`).
    @_spi(Bytes) public var decoded = ""

    @inlinable @_spi(Bytes) public init() {}

    /// Walks `text`, which must hold exactly one value (blanks around it if the visitor
    /// allows them).
    @inlinable @_spi(Bytes) public static func walk<V: JSONVisitor & ~Copyable>(_ text: Span<UInt8>, into visitor: inout V) throws(JSONValue.ParseError) {
        var grammar = JSONGrammar()
        grammar.skipSpace(text, V.self)
        try grammar.value(text, into: &visitor, slot: visitor.rootSlot(), depth: 0)
        grammar.skipSpace(text, V.self)
        guard grammar.position == text.count else { throw grammar.fail("trailing characters") }
    }

    @inlinable @_spi(Bytes) public func fail(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: position, reason: reason) }

    @inlinable @_spi(Bytes) public static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    /// Blanks, for a visitor that allows them. The test before the loop is all that rendered
    /// JSON (which has none) pays: it stays inline, the loop does not.
    @inlinable mutating func skipSpace<V: JSONVisitor & ~Copyable>(_ text: Span<UInt8>, _: V.Type) {
        guard V.allowsWhitespace, position < text.count, text[position] <= 0x20 else { return }
        skipBlanks(text)
    }

    @inlinable mutating func skipBlanks(_ text: Span<UInt8>) {
        while position < text.count, Self.isSpace(text[position]) { position += 1 }
    }


    @inlinable mutating func value<V: JSONVisitor & ~Copyable>(_ text: Span<UInt8>, into visitor: inout V, slot: V.Slot,
                                                            depth: Int) throws(JSONValue.ParseError) {
        guard depth < V.maximumDepth else { throw fail("nested too deeply") }
        guard position < text.count else { throw fail("truncated") }
        switch text[position] {
        case UInt8(ascii: "{"): try object(text, into: &visitor, slot: slot, depth: depth)
        case UInt8(ascii: "["): try array(text, into: &visitor, slot: slot, depth: depth)
        case UInt8(ascii: "\""):
            let quote = position
            let (run, form) = try string(text)
            if form == .escaped {
                try visitor.string(escaped: decoded, raw: text.extracting(run), at: quote, in: slot)
            } else {
                try visitor.string(text.extracting(run), form, at: quote, in: slot)
            }
        case UInt8(ascii: "t"): try expect(text, (0x72, 0x75, 0x65)); try visitor.literal(true, in: slot)
        case UInt8(ascii: "f"): try expect(text, (0x61, 0x6C, 0x73), 0x65); try visitor.literal(false, in: slot)
        case UInt8(ascii: "n"): try expect(text, (0x75, 0x6C, 0x6C)); try visitor.literal(nil, in: slot)
        default:
            let start = position
            let number = try self.number(text)
            try visitor.number(number, raw: text.extracting(start..<position), in: slot)
        }
    }

    @inlinable mutating func object<V: JSONVisitor & ~Copyable>(_ text: Span<UInt8>, into visitor: inout V, slot: V.Slot,
                                                             depth: Int) throws(JSONValue.ParseError) {
        let mark = try visitor.beginObject(in: slot, at: position, depth: depth)
        position += 1
        skipSpace(text, V.self)
        if at(text, UInt8(ascii: "}")) {
            try visitor.endObject(mark, in: slot, at: position, text: text)
            position += 1
            return
        }
        while true {
            skipSpace(text, V.self)
            guard at(text, UInt8(ascii: "\"")) else { throw fail("expected a key") }
            let quote = position
            let (run, form) = try string(text)
            let member = form == .escaped ? try visitor.key(escaped: decoded, at: quote, in: mark)
                : try visitor.key(text.extracting(run), form, at: quote, in: mark)
            skipSpace(text, V.self)
            guard at(text, UInt8(ascii: ":")) else { throw fail("expected ':'") }
            position += 1
            skipSpace(text, V.self)
            try value(text, into: &visitor, slot: member, depth: depth + 1)
            skipSpace(text, V.self)
            guard try closes(text, UInt8(ascii: "}")) else { continue }
            try visitor.endObject(mark, in: slot, at: position, text: text)
            position += 1
            return
        }
    }

    @inlinable mutating func array<V: JSONVisitor & ~Copyable>(_ text: Span<UInt8>, into visitor: inout V, slot: V.Slot,
                                                            depth: Int) throws(JSONValue.ParseError) {
        let mark = try visitor.beginArray(in: slot, at: position, depth: depth)
        position += 1
        skipSpace(text, V.self)
        if at(text, UInt8(ascii: "]")) {
            try visitor.endArray(mark, in: slot, at: position, text: text)
            position += 1
            return
        }
        var index = 0
        while true {
            skipSpace(text, V.self)
            try value(text, into: &visitor, slot: visitor.item(index, in: mark), depth: depth + 1)
            index += 1
            skipSpace(text, V.self)
            guard try closes(text, UInt8(ascii: "]")) else { continue }
            try visitor.endArray(mark, in: slot, at: position, text: text)
            position += 1
            return
        }
    }

    /// After a member or an item: false past a comma (another follows), true at `close`
    /// (`}` or `]`), which the caller consumes.
    @inlinable mutating func closes(_ text: Span<UInt8>, _ close: UInt8) throws(JSONValue.ParseError) -> Bool {
        let object = close == UInt8(ascii: "}")
        guard position < text.count else { throw fail(object ? "truncated object" : "truncated array") }
        if text[position] == UInt8(ascii: ",") {
            position += 1
            return false
        }
        guard text[position] == close else { throw fail(object ? "expected ',' or '}'" : "expected ',' or ']'") }
        return true
    }

    /// `true`, `false` or `null` exactly: its bytes after the first, which was matched.
    @inlinable mutating func expect(_ text: Span<UInt8>, _ rest: (UInt8, UInt8, UInt8), _ last: UInt8? = nil) throws(JSONValue.ParseError) {
        let n = last == nil ? 4 : 5
        guard n <= text.count - position else { throw fail("truncated") }
        guard text[position + 1] == rest.0, text[position + 2] == rest.1, text[position + 3] == rest.2,
              n == 4 || text[position + 4] == last else { throw fail("unexpected token") }
        position += n
    }
}
