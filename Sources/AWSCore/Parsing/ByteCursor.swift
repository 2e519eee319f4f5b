/// A reading position in bytes from outside: the one reader every parser of the package
/// moves through its input with (the XML scanner, the JSON grammar, the spool readers, the
/// BSON decoder).
///
/// The cursor holds only its offset and takes the bytes as a `Span` on each call (a stored
/// non-escapable reader would need an experimental compiler feature). Every read is
/// bounds-checked by the span: an offset past the end answers nil or false, never a byte of
/// something else, and a slip in a parser traps rather than reads out of bounds.
@_spi(Bytes) public struct ByteCursor: Sendable, Equatable {
    /// The offset of the next byte to read.
    @_spi(Bytes) public var position: Int

    @inlinable @_spi(Bytes) public init(at position: Int = 0) {
        self.position = position
    }

    /// Whether every byte has been read.
    @inlinable @_spi(Bytes) public func isAtEnd(_ bytes: Span<UInt8>) -> Bool { position >= bytes.count }

    /// The next byte, or nil at the end.
    @inlinable @_spi(Bytes) public func peek(_ bytes: Span<UInt8>) -> UInt8? {
        position >= 0 && position < bytes.count ? bytes[position] : nil
    }

    /// The byte `offset` after the next one, or nil past the end.
    @inlinable @_spi(Bytes) public func peek(_ bytes: Span<UInt8>, ahead offset: Int) -> UInt8? {
        let at = position &+ offset
        return at >= 0 && at < bytes.count ? bytes[at] : nil
    }

    /// Moves past `n` bytes (never before the start).
    @inlinable @_spi(Bytes) public mutating func advance(by n: Int = 1) {
        precondition(n >= 0, "a cursor only moves forward")
        position += n
    }

    /// Moves past the next byte when it is `byte`, and says whether it was.
    @inlinable @_spi(Bytes) public mutating func expect(_ byte: UInt8, in bytes: Span<UInt8>) -> Bool {
        guard peek(bytes) == byte else { return false }
        position += 1
        return true
    }

    /// Moves past `literal` when the bytes continue with it, and says whether they did.
    @inlinable @_spi(Bytes) public mutating func expect(_ literal: ByteLiteral, in bytes: Span<UInt8>) -> Bool {
        guard hasPrefix(literal, in: bytes) else { return false }
        position += literal.count
        return true
    }

    /// Whether the bytes continue with `literal`.
    @inlinable @_spi(Bytes) public func hasPrefix(_ literal: ByteLiteral, in bytes: Span<UInt8>) -> Bool {
        literal.matches(bytes, at: position)
    }

    /// Moves past blanks (space, tab, CR, LF: the blanks of both XML and JSON).
    @inlinable @_spi(Bytes) public mutating func skipBlanks(in bytes: Span<UInt8>) {
        while position < bytes.count, Self.isBlank(bytes[position]) { position += 1 }
    }

    /// The offset of the next `byte` at or after the cursor, or nil: eight bytes at a time.
    @inlinable @_spi(Bytes) public func firstIndex(of byte: UInt8, in bytes: Span<UInt8>) -> Int? {
        let found = Word.firstIndex(of: byte, in: bytes, from: position)
        return found < bytes.count ? found : nil
    }

    /// The offset of the next `a` or `b` at or after the cursor, or the end of the bytes.
    @inlinable @_spi(Bytes) public func firstIndex(of a: UInt8, or b: UInt8, in bytes: Span<UInt8>) -> Int {
        Word.firstIndex(of: a, or: b, in: bytes, from: position)
    }

    /// The offset where the next `literal` starts at or after the cursor, or nil.
    @inlinable @_spi(Bytes) public func firstIndex(of literal: ByteLiteral, in bytes: Span<UInt8>) -> Int? {
        guard literal.count > 0 else { return position }
        var at = position
        while let candidate = ByteCursor(at: at).firstIndex(of: literal.first, in: bytes) {
            if literal.matches(bytes, at: candidate) { return candidate }
            at = candidate + 1
        }
        return nil
    }

    @inlinable @_spi(Bytes) public static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// A short ASCII literal a parser looks for (`<!--`, `<![CDATA[`, `true`), held in two
/// words: up to sixteen bytes, compared with bounds-checked loads, with no pointer to a
/// static string kept.
@_spi(Bytes) public struct ByteLiteral: Sendable, Equatable, ExpressibleByStringLiteral {
    /// The bytes, the first lowest (`low` holds bytes 0 to 7, `high` 8 to 15); zero above `count`.
    @usableFromInline let low: UInt64, high: UInt64
    @_spi(Bytes) public let count: Int

    @inlinable @_spi(Bytes) public init(stringLiteral text: StaticString) {
        // Reading the literal's own bytes: `withUTF8Buffer` hands out a buffer of exactly
        // `utf8CodeUnitCount` bytes, and `enumerated()` stays inside it.
        let (low, high, count) = text.withUTF8Buffer { utf8 in
            var words: (UInt64, UInt64) = (0, 0)
            // Bounds: the buffer is the literal's `utf8CodeUnitCount` bytes; the loop stays inside.
            for unsafe (i, byte) in unsafe utf8.enumerated() {
                if i < 8 { words.0 |= UInt64(byte) << UInt64(8 * i) } else if i < 16 { words.1 |= UInt64(byte) << UInt64(8 * (i - 8)) }
            }
            return (words.0, words.1, utf8.count)
        }
        precondition(count <= 16, "a ByteLiteral holds at most sixteen bytes")
        (self.low, self.high, self.count) = (low, high, count)
    }

    /// The bytes as two little-endian words, zero above `count` (for a writer's whole-word store).
    @inlinable var words: (low: UInt64, high: UInt64) { (low, high) }

    /// The literal's first byte.
    @inlinable @_spi(Bytes) public var first: UInt8 { UInt8(truncatingIfNeeded: low) }

    /// The literal's byte `i` (below `count`).
    @inlinable @_spi(Bytes) public func byte(_ i: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (i < 8 ? low : high) >> UInt64(8 * (i & 7)))
    }

    /// Whether `bytes` hold the literal at `offset` (false when it would run past their end).
    @inlinable @_spi(Bytes) public func matches(_ bytes: Span<UInt8>, at offset: Int) -> Bool {
        guard offset >= 0, count <= bytes.count &- offset else { return false }
        if bytes.count - offset >= 16 || (count <= 8 && bytes.count - offset >= 8) {
            let lowCount = min(count, 8)
            let lowMask: UInt64 = lowCount == 0 ? 0 : ~0 >> UInt64(64 - 8 * lowCount)
            guard Word.load(bytes, at: offset) & lowMask == low else { return false }
            guard count > 8 else { return true }
            let highMask: UInt64 = ~0 >> UInt64(64 - 8 * (count - 8))
            return Word.load(bytes, at: offset + 8) & highMask == high
        }
        var i = 0
        while i < count {
            if bytes[offset + i] != byte(i) { return false }
            i += 1
        }
        return true
    }
}

/// The literals read or written per value, made once: a `ByteLiteral` is built from its
/// static string at run time, which a hot path should not repeat for every value.
extension ByteLiteral {
    @_spi(Bytes) public static let jsonTrue: ByteLiteral = "true"
    @_spi(Bytes) public static let jsonFalse: ByteLiteral = "false"
    @_spi(Bytes) public static let jsonNull: ByteLiteral = "null"
    @_spi(Bytes) public static let item: ByteLiteral = "item"
    @_spi(Bytes) public static let utcOffset: ByteLiteral = "+00:00"
}
