/// Parses JSON into `JSONValue`, keeping key order and telling integers from doubles, so a
/// spooled poll comes back exactly as it was printed. The grammar is `JSONGrammar`'s; this
/// file is only its value-tree visitor.
extension JSONValue {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }

        // Written out (not the memberwise one) so the inlined grammar can throw it.
        @usableFromInline package init(offset: Int, reason: String) {
            self.offset = offset
            self.reason = reason
        }
    }

    /// Deeper values are refused: the recursion stays well inside a small thread stack.
    @inlinable @_spi(Bytes) public static var maximumDepth: Int { 200 }

    public static func parse<C: Collection>(_ bytes: C) throws(ParseError) -> JSONValue where C.Element == UInt8 {
        try parse(Array(bytes).span)
    }

    static func parse(_ text: Span<UInt8>) throws(ParseError) -> JSONValue {
        var builder = TreeBuilder()
        try JSONGrammar.walk(text, into: &builder)
        guard let value = builder.result else { throw ParseError(offset: 0, reason: "truncated") }
        return value
    }

    /// Builds the tree: each open object or array is a frame until it closes; a value goes to
    /// its slot, the key it came under (nil in an array, or at the top).
    private struct TreeBuilder: JSONVisitor {
        private var frames: [(members: [JSONMember], items: [JSONValue])] = []
        var result: JSONValue?

        static var maximumDepth: Int { JSONValue.maximumDepth }
        static var allowsWhitespace: Bool { true }

        func rootSlot() -> String? { nil }

        private mutating func deliver(_ value: JSONValue, to slot: String?) {
            guard !frames.isEmpty else { return result = value }
            if let key = slot { frames[frames.count - 1].members.append(JSONMember(key, value)) } else { frames[frames.count - 1].items.append(value) }
        }

        mutating func beginObject(in slot: String?, at offset: Int, depth: Int) -> Void { frames.append(([], [])) }
        mutating func beginArray(in slot: String?, at offset: Int, depth: Int) -> Void { frames.append(([], [])) }

        mutating func key(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in object: Void) -> String? { JSONGrammar.text(raw) }
        mutating func key(escaped: String, at offset: Int, in object: Void) -> String? { escaped }

        mutating func item(_ index: Int, in array: Void) -> String? { nil }

        mutating func endObject(_ object: Void, in slot: String?, at offset: Int, text: Span<UInt8>) {
            deliver(.object(frames.removeLast().members), to: slot)
        }

        mutating func endArray(_ array: Void, in slot: String?, at offset: Int, text: Span<UInt8>) {
            deliver(.array(frames.removeLast().items), to: slot)
        }

        mutating func string(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in slot: String?) {
            deliver(.string(JSONGrammar.text(raw)), to: slot)
        }

        mutating func string(escaped: String, raw: Span<UInt8>, at offset: Int, in slot: String?) { deliver(.string(escaped), to: slot) }

        mutating func number(_ value: JSONNumber, raw: Span<UInt8>, in slot: String?) {
            switch value {
            case let .int(i): deliver(.int(i), to: slot)
            case let .double(d): deliver(.double(d), to: slot)
            }
        }

        mutating func literal(_ value: Bool?, in slot: String?) { deliver(value.map(JSONValue.bool) ?? .null, to: slot) }
    }
}
