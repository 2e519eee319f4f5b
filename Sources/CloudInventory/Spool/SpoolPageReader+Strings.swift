@_spi(Bytes) import AWSCore

/// Which strings are in the spool writer's own form (`JSONValue.writeString`).
extension SpoolPageReader {
    /// Whether `run` is `name`'s bytes: the lengths first, which settle nearly every key.
    static func run(_ run: Span<UInt8>, is name: StaticName) -> Bool {
        guard run.count == name.bytes.count else { return false }
        for k in 0..<run.count where run[k] != name.bytes[k] { return false }
        return true
    }

    /// A string with no escape and no control byte, valid UTF-8: ids, states, keys, the
    /// head's account and region.
    static func isPlain(_ raw: Span<UInt8>, _ form: JSONStringForm) -> Bool {
        switch form {
        case .ascii: return true
        case .escaped: return false
        case .unescaped:
            for k in raw.indices where raw[k] < 0x20 { return false }
            return (try? UTF8Span(validating: raw)) != nil
        }
    }

    /// Any string value as `JSONValue.writeString` writes it: `\"`, `\\`, `\n`, `\r`, `\t`, and
    /// `\u00xx` (lower-case hex) for the other control characters; no other escape, no raw
    /// control byte, valid UTF-8.
    static func isWriterForm(_ raw: Span<UInt8>, _ form: JSONStringForm) -> Bool {
        guard form == .escaped else { return isPlain(raw, form) }
        var p = 0, ascii = true
        while p < raw.count {
            switch raw[p] {
            case UInt8(ascii: "\\"):
                guard let next = escape(raw, at: p) else { return false }
                p = next
            case ..<0x20: return false
            case 0x80...:
                ascii = false
                p += 1
            default: p += 1
            }
        }
        return ascii || (try? UTF8Span(validating: raw)) != nil
    }

    /// The end of the escape at `p`, if the writer writes it.
    private static func escape(_ raw: Span<UInt8>, at p: Int) -> Int? {
        guard p + 1 < raw.count else { return nil }
        switch raw[p + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return p + 2
        case UInt8(ascii: "u"):
            guard raw.count - p >= 6, raw[p + 2] == UInt8(ascii: "0"), raw[p + 3] == UInt8(ascii: "0"),
                  raw[p + 4] == UInt8(ascii: "0") || raw[p + 4] == UInt8(ascii: "1") else { return nil }
            let low = raw[p + 5]
            let nibble = low &- UInt8(ascii: "0") < 10 ? low &- UInt8(ascii: "0") : low &- UInt8(ascii: "a") < 6 ? low &- UInt8(ascii: "a") + 10 : 255
            guard nibble < 16 else { return nil }
            let control = (raw[p + 4] &- UInt8(ascii: "0")) << 4 | nibble
            return control == 0x0A || control == 0x0D || control == 0x09 ? nil : p + 6
        default:
            return nil
        }
    }
}
