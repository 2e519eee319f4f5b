/// A JSON value that keeps object keys in the order they were built.
///
/// Order matters here: instance documents list their fields in the EC2 model's order, as the
/// AWS CLI prints them, so two polls of the same instance serialize to the same bytes and
/// their content hash can tell "unchanged" cheaply.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case let .int(i) = self { return i }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(a) = self { return a }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// Any number as a double (integers convert, possibly rounding past 2^53).
    public var doubleValue: Double? {
        switch self {
        case let .double(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }

    /// An object's members, in order.
    public var objectValue: [JSONMember]? {
        if case let .object(members) = self { return members }
        return nil
    }

    /// The same value with every object's members sorted by key (bytes, a prefix first), at
    /// every depth; arrays keep their order. Content hashes are taken over this form, so the
    /// order EC2 sends elements in never makes an unchanged instance look changed.
    /// `RenderBuffer` builds the same bytes while rendering.
    public var canonical: JSONValue {
        switch self {
        case let .array(items): return .array(items.map(\.canonical))
        case let .object(members):
            return .object(Self.canonicalOrder(members).map { JSONMember(members[$0].key, members[$0].value.canonical) })
        default: return self
        }
    }

    /// Where each member goes in the canonical form: by the keys' UTF-8 bytes. Their first
    /// eight bytes, taken once as one integer, decide nearly every comparison; equal ones fall
    /// back to the whole keys.
    @usableFromInline static func canonicalOrder(_ members: [JSONMember]) -> [Int] {
        var keyed = members.indices.map { (prefix: sortPrefix(members[$0].key), index: $0) }
        keyed.sort {
            $0.prefix != $1.prefix ? $0.prefix < $1.prefix : members[$0.index].key.utf8.lexicographicallyPrecedes(members[$1.index].key.utf8)
        }
        return keyed.map(\.index)
    }

    /// A key's first eight UTF-8 bytes, big-endian and zero-padded: ordered as the bytes are,
    /// up to ties (a key with a NUL, or eight equal bytes), which the caller settles.
    static func sortPrefix(_ key: String) -> UInt64 {
        let bytes = key.utf8.span
        let count = min(bytes.count, 8)
        var value: UInt64 = 0
        for k in 0..<count { value = value << 8 | UInt64(bytes[k]) }
        return count == 0 ? 0 : value << (8 * UInt64(8 - count))
    }

    /// Compact UTF-8 JSON.
    public func serialized() -> String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(to out: inout [UInt8]) { write(to: &out, canonical: false) }

    @inlinable @_spi(Bytes) public func write<Out: ByteOutput>(to out: inout Out) { write(to: &out, canonical: false) }

    /// The canonical form's compact JSON (what content hashes are taken over), written
    /// without building that form.
    public func writeCanonical(to out: inout [UInt8]) { write(to: &out, canonical: true) }

    @inlinable @_spi(Bytes) public func write<Out: ByteOutput>(to out: inout Out, canonical: Bool) {
        switch self {
        case .null: out.append(ByteLiteral.jsonNull)
        case let .bool(b): out.append(b ? ByteLiteral.jsonTrue : .jsonFalse)
        case let .int(i): Self.append(String(i), to: &out)
        case let .double(d):
            if d.isFinite {
                Self.append(String(d), to: &out)
            } else {
                out.append(ByteLiteral.jsonNull)
            }
        case let .string(s): JSONValue.writeString(s, to: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out, canonical: canonical)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            let order = canonical ? Self.canonicalOrder(members) : Array(members.indices)
            for (i, index) in order.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(members[index].key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[index].value.write(to: &out, canonical: canonical)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    @inlinable @_spi(Bytes) public static func append<Out: ByteOutput>(_ text: String, to out: inout Out) {
        out.append(text.utf8.span)
    }

    @usableFromInline static let hex = Array("0123456789abcdef".utf8)

    /// `"name":`, escaped.
    package static func jsonKey(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        writeString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        return bytes
    }

    @inlinable @_spi(Bytes) public static func writeString<Out: ByteOutput>(_ s: String, to out: inout Out) {
        writeString(utf8: s.utf8.span, to: &out)
    }

    /// Copies runs that need no escaping in one go (`ByteOutput.appendPlainJSON`): most
    /// strings are one run, copied whole.
    @inlinable @_spi(Bytes) public static func writeString<Out: ByteOutput>(utf8 bytes: Span<UInt8>, to out: inout Out) {
        out.append(UInt8(ascii: "\""))
        var i = out.appendPlainJSON(bytes, from: 0)
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default:
                out.append("\\u00" as ByteLiteral)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
            i = out.appendPlainJSON(bytes, from: i + 1)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether JSON must escape `byte` in a string: a control byte, `"` or `\\`.
    @inlinable @_spi(Bytes) public static func escapes(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}

public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
