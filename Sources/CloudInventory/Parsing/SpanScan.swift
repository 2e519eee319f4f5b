/// Word-at-a-time reads of a `Span`: every load is checked against the span. (Until the
/// foundation's `Word.load(span, at:)` replaces it.)
enum SpanScan {
    /// The eight bytes at `offset`, the first of them lowest.
    static func load(_ text: Span<UInt8>, at offset: Int) -> UInt64 {
        // unsafe: `unsafeLoadUnaligned` checks `offset + 8 <= count` (it traps otherwise), and UInt64 has no invalid bit pattern.
        UInt64(littleEndian: unsafe text.bytes.unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
