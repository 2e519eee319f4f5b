/// Eight bytes in a word, and the classic bit tricks on them. In each mask the lowest set
/// bit marks the first byte that matches exactly; bits above it may be false. Words are
/// loaded as `UInt64(littleEndian:)`, so the lowest bit is the first byte on any machine.
enum Word {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) static func repeated(_ byte: UInt8) -> UInt64 { ones &* UInt64(byte) }

    /// The high bit of every zero byte.
    @inline(__always) static func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }

    /// The high bit of every byte below `limit` (at most 0x80).
    @inline(__always) static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- repeated(limit)) & ~word & highs
    }

    /// The eight bytes at `offset`, the first of them lowest.
    @inline(__always) static func load(_ raw: UnsafeRawPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Whether `count` bytes at `a` and at `b` are equal: for tag and member names, a few to
    /// thirty bytes, where a `memcmp` call costs more than the compare. Words of eight, the
    /// last overlapping; two overlapping words of four below eight.
    @inline(__always) static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        if count >= 8 {
            var i = 0
            while i + 8 < count {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        var i = 0
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// The high bit of every byte JSON must escape in a string: a control byte, `"` or `\\`.
    @inline(__always) static func toEscapeInJSON(_ word: UInt64) -> UInt64 {
        bytesBelow(word, 0x20) | zeroBytes(word ^ repeated(UInt8(ascii: "\""))) | zeroBytes(word ^ repeated(UInt8(ascii: "\\")))
    }

    /// Whether every byte is below 0x80, eight at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0, high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= load(raw, at: i)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(base[i])
            i += 1
        }
        return high & highs == 0
    }

    /// The first byte at or after `start` that ends a plain ASCII run in a JSON string: a
    /// quote, a backslash, a control byte or a byte of a multi-byte character; or the end.
    static func firstNotPlainASCII(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        var i = start
        while i + 8 <= buffer.count {
            let word = load(raw, at: i)
            let hit = word & highs | toEscapeInJSON(word)
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
        }
        // `byte &- 0x20 >= 0x60`: below 0x20 (wraps) or 0x80 and above.
        while i < buffer.count, buffer[i] != UInt8(ascii: "\""), buffer[i] != UInt8(ascii: "\\"), buffer[i] &- 0x20 < 0x60 { i += 1 }
        return i
    }
}
