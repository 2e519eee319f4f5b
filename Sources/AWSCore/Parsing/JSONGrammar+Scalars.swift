/// Strings and numbers: the grammar's scalars.
extension JSONGrammar {
    /// The string at `position` (its opening quote), consumed: the range of its bytes between
    /// the quotes and their form. An escaped string's text is left in `decoded`.
    @inlinable @_spi(Bytes) public mutating func string(_ text: Span<UInt8>) throws(JSONValue.ParseError) -> (Range<Int>, JSONStringForm) {
        position += 1  // opening quote
        let start = position
        // Most strings are printable ASCII with no escape: one scan, a word at a time
        // (`Word`), to the first quote, backslash, control byte or byte of a multi-byte
        // character, and no copy. Only past such a byte is the rest scanned for the end.
        var end = Word.firstNotPlainASCII(text, from: start), form = JSONStringForm.ascii
        if end < text.count, text[end] >= 0x80 {
            form = .unescaped
            end = Word.firstToEscapeInJSON(text, from: end)
        }
        guard end < text.count, text[end] == UInt8(ascii: "\"") else { return try escapedString(text, from: start) }
        position = end + 1
        return (start..<end, form)
    }

    /// A string with an escape or a raw control byte, from its first byte: decoded into
    /// `decoded` when it has an escape.
    @inline(never)
    @inlinable mutating func escapedString(_ text: Span<UInt8>, from start: Int) throws(JSONValue.ParseError) -> (Range<Int>, JSONStringForm) {
        var out: [UInt8] = []
        var escaped = false
        while position < text.count {
            let c = text[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                guard escaped else { return (start..<(position - 1), .unescaped) }
                decoded = String(decoding: out, as: UTF8.self)
                return (start..<(position - 1), .escaped)
            }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                position += 1
                continue
            }
            escaped = true
            guard position + 1 < text.count else { throw fail("truncated escape") }
            let e = text[position + 1]
            position += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"): out.append(contentsOf: String(Character(try unicodeEscape(text))).utf8)
            default: throw fail("bad escape")
            }
        }
        throw fail("unterminated string")
    }

    /// The scalar of a `\uXXXX` escape whose `\u` was just read; a high surrogate must be
    /// followed by an escaped low one. Anything else (a lone or reversed surrogate, a
    /// truncated escape) is an error, never arithmetic on an unpaired half.
    @inlinable mutating func unicodeEscape(_ text: Span<UInt8>) throws(JSONValue.ParseError) -> Unicode.Scalar {
        let first = try hex4(text)
        var value = first
        if (0xD800..<0xDC00).contains(first) {
            guard position + 1 < text.count, text[position] == UInt8(ascii: "\\"), text[position + 1] == UInt8(ascii: "u") else {
                throw fail("unpaired surrogate \\u\(String(first, radix: 16))")
            }
            position += 2
            let low = try hex4(text)
            guard (0xDC00..<0xE000).contains(low) else { throw fail("bad low surrogate \\u\(String(low, radix: 16))") }
            value = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw fail("unpaired surrogate \\u\(String(value, radix: 16))") }
        return scalar
    }

    /// Exactly four hex digits (no sign, no prefix).
    @inlinable mutating func hex4(_ text: Span<UInt8>) throws(JSONValue.ParseError) -> UInt32 {
        guard 4 <= text.count - position else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for k in position..<(position + 4) {
            let byte = text[k], digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw fail("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    /// RFC 8259 numbers only: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`. Integers that
    /// fit in Int64 stay integers; anything else must be a finite double.
    @inlinable @_spi(Bytes) public mutating func number(_ text: Span<UInt8>) throws(JSONValue.ParseError) -> JSONNumber {
        let start = position
        let negative = at(text, UInt8(ascii: "-"))
        if negative { position += 1 }
        let integerStart = position
        guard digits(text) > 0 else { throw JSONValue.ParseError(offset: start, reason: "bad number") }
        guard position - integerStart == 1 || text[integerStart] != UInt8(ascii: "0") else {
            throw JSONValue.ParseError(offset: start, reason: "leading zero in number")
        }
        var isInteger = true
        if at(text, UInt8(ascii: ".")) {
            position += 1
            isInteger = false
            guard digits(text) > 0 else { throw JSONValue.ParseError(offset: start, reason: "bad number") }
        }
        if at(text, UInt8(ascii: "e")) || at(text, UInt8(ascii: "E")) {
            position += 1
            isInteger = false
            if at(text, UInt8(ascii: "+")) || at(text, UInt8(ascii: "-")) { position += 1 }
            guard digits(text) > 0 else { throw JSONValue.ParseError(offset: start, reason: "bad number") }
        }
        // Up to 18 digits cannot overflow: summed here, with no text made.
        if isInteger, position - integerStart <= 18 {
            var magnitude: Int64 = 0
            for k in integerStart..<position { magnitude = magnitude * 10 + Int64(text[k] &- 0x30) }
            return .int(negative ? -magnitude : magnitude)
        }
        var number = ""
        for k in start..<position { number.unicodeScalars.append(Unicode.Scalar(text[k])) }
        if isInteger, let i = Int64(number) { return .int(i) }
        guard let d = Double(number), d.isFinite else { throw JSONValue.ParseError(offset: start, reason: "number out of range") }
        return .double(d)
    }

    @inlinable @_spi(Bytes) public func at(_ text: Span<UInt8>, _ byte: UInt8) -> Bool { position < text.count && text[position] == byte }

    /// Skips ASCII digits and says how many there were.
    @inlinable mutating func digits(_ text: Span<UInt8>) -> Int {
        let start = position
        while position < text.count, text[position] &- 0x30 < 10 { position += 1 }
        return position - start
    }

    /// A string's text from its bytes: as they are when they are valid UTF-8, repaired (as
    /// `String(decoding:as:)` repairs) when not.
    @inlinable @_spi(Bytes) public static func text(_ raw: Span<UInt8>) -> String {
        if let valid = try? UTF8Span(validating: raw) { return String(copying: valid) }
        var bytes: [UInt8] = []
        for k in raw.indices { bytes.append(raw[k]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
