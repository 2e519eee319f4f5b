/// Bounds tests written in the very shape of the checks `Span` and `RawSpan` make (an
/// unsigned compare; room counted down from the end), so the optimizer sees a loop's test
/// and the span's check as one and keeps only the loop's: the reads stay checked and a slip
/// still traps, at no cost in the scanners' inner loops. A test written `i + 8 <= count`
/// means the same but leaves the span's check, and an overflow check, in every iteration
/// (measured on the word scan: 13 instructions a word against 8).
///
/// The `@inline(__always)` here and in `Word` are kept (the audit of issue 24, `make
/// perf-gate`, 2026-12-08): without them json +4.3%, text +3.7%, csv +3.7%; with the
/// `ByteCursor` and `OutputBuffer` ones removed too, the total would pass the 5% allowed.
@_spi(Bytes) public enum Bounds {
    /// Whether `index` is inside `0..<count`: `Span`'s subscript check.
    @inline(__always) @inlinable @_spi(Bytes) public static func contains(_ index: Int, _ count: Int) -> Bool {
        UInt(bitPattern: index) < UInt(bitPattern: count)
    }

    /// Whether `width` bytes from `offset` are inside `0..<count`: `RawSpan`'s load check.
    @inline(__always) @inlinable @_spi(Bytes) public static func fits(_ width: Int, at offset: Int, in count: Int) -> Bool {
        UInt(bitPattern: offset) <= UInt(bitPattern: count) && count &- offset >= width
    }
}
