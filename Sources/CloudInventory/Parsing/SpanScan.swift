/// Word-at-a-time scans over a `Span`: every load is checked against the span.
enum SpanScan {
    /// The eight bytes at `offset`, the first of them lowest.
    static func load(_ text: Span<UInt8>, at offset: Int) -> UInt64 {
        // unsafe: `unsafeLoadUnaligned` checks `offset + 8 <= count` (it traps otherwise), and UInt64 has no invalid bit pattern.
        UInt64(littleEndian: unsafe text.bytes.unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The first `byte` at or after `start`, or nil: eight bytes at a time (`Word.zeroBytes`).
    static func firstIndex(of byte: UInt8, in text: Span<UInt8>, from start: Int) -> Int? {
        var i = max(start, 0)
        let pattern = Word.repeated(byte)
        while i + 8 <= text.count {
            let hit = Word.zeroBytes(load(text, at: i) ^ pattern)
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < text.count {
            if text[i] == byte { return i }
            i += 1
        }
        return nil
    }
}
