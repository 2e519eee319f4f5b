/// Eight bytes in a word, and the classic bit tricks on them. In each mask the lowest set
/// bit marks the first byte that matches exactly; bits above it may be false. Words are
/// loaded as `UInt64(littleEndian:)`, so the lowest bit is the first byte on any machine.
///
/// Every load goes through `load(_:at:)`, over a `Span`: the span checks that all eight
/// bytes are inside it, in release builds too, so a scan cannot read past its input.
@_spi(Bytes) public enum Word {
    @_spi(Bytes) public static let ones: UInt64 = 0x0101_0101_0101_0101
    @_spi(Bytes) public static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) @inlinable @_spi(Bytes) public static func repeated(_ byte: UInt8) -> UInt64 { ones &* UInt64(byte) }

    /// The high bit of every zero byte.
    @inline(__always) @inlinable @_spi(Bytes) public static func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }

    /// The high bit of every byte below `limit` (at most 0x80).
    @inline(__always) @inlinable @_spi(Bytes) public static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- repeated(limit)) & ~word & highs
    }

    /// The high bit of every byte equal to `byte`.
    @inline(__always) @inlinable @_spi(Bytes) public static func bytesEqual(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        zeroBytes(word ^ repeated(byte))
    }

    /// The eight bytes at `offset`, the first of them lowest: the one word load of the
    /// package. `unsafeLoadUnaligned` is "unsafe" only in that it reinterprets bytes, which
    /// any bit pattern of a `UInt64` allows; `RawSpan` checks `offset..<offset + 8` against
    /// the span's bounds and traps outside them.
    @inline(__always) @inlinable @_spi(Bytes) public static func load(_ bytes: Span<UInt8>, at offset: Int) -> UInt64 {
        // Bounds: `RawSpan` checks `offset..<offset + 8` against the span; any bit pattern is a UInt64.
        UInt64(littleEndian: unsafe RawSpan(_elements: bytes).unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The four bytes at `offset`, the first of them lowest, in the low half.
    @inline(__always) @inlinable @_spi(Bytes) public static func load32(_ bytes: Span<UInt8>, at offset: Int) -> UInt64 {
        // Bounds and bit patterns as in `load`.
        UInt64(UInt32(littleEndian: unsafe RawSpan(_elements: bytes).unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// Whether `count` bytes at `a` in `x` and at `b` in `y` are equal: for tag and member
    /// names, a few to thirty bytes, where a library call costs more than the compare. Words
    /// of eight, the last overlapping; two overlapping words of four below eight. False
    /// (never a trap) when either range is not inside its span.
    @inline(__always)
    @inlinable @_spi(Bytes) public static func equal(_ x: Span<UInt8>, _ a: Int, _ y: Span<UInt8>, _ b: Int, count: Int) -> Bool {
        guard count >= 0, Bounds.fits(count, at: a, in: x.count), Bounds.fits(count, at: b, in: y.count) else { return false }
        return equalWhole(x.extracting(a..<(a &+ count)), y.extracting(b..<(b &+ count)))
    }

    /// `equal` of two spans of the same length: every offset below is tested in `Bounds`'
    /// shape against that length, so the loads' own checks fold into the tests.
    @inline(__always)
    @inlinable static func equalWhole(_ x: Span<UInt8>, _ y: Span<UInt8>) -> Bool {
        let count = x.count
        guard y.count == count else { return false }
        if count >= 8 {
            var i = 0
            while Bounds.fits(9, at: i, in: count) {
                if load(x, at: i) != load(y, at: i) { return false }
                i &+= 8
            }
            return load(x, at: count &- 8) == load(y, at: count &- 8)
        }
        if count >= 4 {
            return load32(x, at: 0) == load32(y, at: 0) && load32(x, at: count &- 4) == load32(y, at: count &- 4)
        }
        var i = 0
        while Bounds.contains(i, count) {
            if x[i] != y[i] { return false }
            i &+= 1
        }
        return true
    }

    /// Whether two spans hold the same bytes.
    @inline(__always) @inlinable @_spi(Bytes) public static func equal(_ x: Span<UInt8>, _ y: Span<UInt8>) -> Bool {
        equalWhole(x, y)
    }

    /// The order of `count` bytes at `a` in `x` and at `b` in `y`, as `memcmp` gives it
    /// (negative, zero, positive), a word at a time. The ranges must be inside their spans.
    @inlinable @_spi(Bytes) public static func compare(_ x: Span<UInt8>, _ a: Int, _ y: Span<UInt8>, _ b: Int, count: Int) -> Int {
        var i = 0
        while i + 8 <= count {
            let p = load(x, at: a + i), q = load(y, at: b + i)
            // Byte-swapped, the first byte is the most significant: integer order is byte order.
            if p != q { return p.byteSwapped < q.byteSwapped ? -1 : 1 }
            i += 8
        }
        while i < count {
            if x[a + i] != y[b + i] { return x[a + i] < y[b + i] ? -1 : 1 }
            i += 1
        }
        return 0
    }

    /// The high bit of every byte JSON must escape in a string: a control byte, `"` or `\\`.
    @inline(__always) @inlinable @_spi(Bytes) public static func toEscapeInJSON(_ word: UInt64) -> UInt64 {
        bytesBelow(word, 0x20) | bytesEqual(word, UInt8(ascii: "\"")) | bytesEqual(word, UInt8(ascii: "\\"))
    }

    /// Whether every byte of `range` is below 0x80: words of eight, the last overlapping;
    /// two overlapping words of four below eight (the renderer asks it of every value).
    @inline(__always)
    @inlinable @_spi(Bytes) public static func isASCII(_ bytes: Span<UInt8>, _ range: Range<Int>) -> Bool {
        let run = bytes.extracting(range)
        let count = run.count
        if count >= 8 {
            var high: UInt64 = 0, i = 0
            while Bounds.fits(9, at: i, in: count) {
                high |= load(run, at: i)
                i &+= 8
            }
            return (high | load(run, at: count &- 8)) & highs == 0
        }
        if count >= 4 { return (load32(run, at: 0) | load32(run, at: count &- 4)) & highs == 0 }
        var high: UInt8 = 0, i = 0
        while Bounds.contains(i, count) {
            high |= run[i]
            i &+= 1
        }
        return high < 0x80
    }

    /// The first byte at or after `start` that ends a plain ASCII run in a JSON string: a
    /// quote, a backslash, a control byte or a byte of a multi-byte character; or the end.
    @inlinable @_spi(Bytes) public static func firstNotPlainASCII(_ bytes: Span<UInt8>, from start: Int) -> Int {
        var i = max(start, 0)
        let count = bytes.count
        while Bounds.fits(8, at: i, in: count) {
            let word = load(bytes, at: i)
            let hit = word & highs | toEscapeInJSON(word)
            if hit != 0 { return i &+ hit.trailingZeroBitCount / 8 }
            i &+= 8
        }
        // `byte &- 0x20 >= 0x60`: below 0x20 (wraps) or 0x80 and above.
        while Bounds.contains(i, count), bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] &- 0x20 < 0x60 { i &+= 1 }
        return i
    }

    /// The first byte at or after `start` that ends a value both XML and JSON take as it is:
    /// `<` or `&` (XML's markup), or a byte `firstNotPlainASCII` stops at (or the end). A
    /// value that runs to its `<` is copied into JSON between quotes with no second look.
    @inline(__always)
    @inlinable @_spi(Bytes) public static func firstNotPlainText(_ bytes: Span<UInt8>, from start: Int) -> Int {
        var i = max(start, 0)
        let count = bytes.count
        while Bounds.fits(8, at: i, in: count) {
            let word = load(bytes, at: i)
            let hit = word & highs | toEscapeInJSON(word) | bytesEqual(word, UInt8(ascii: "<")) | bytesEqual(word, UInt8(ascii: "&"))
            if hit != 0 { return i &+ hit.trailingZeroBitCount / 8 }
            i &+= 8
        }
        while Bounds.contains(i, count), bytes[i] != UInt8(ascii: "<"), bytes[i] != UInt8(ascii: "&"),
              bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] &- 0x20 < 0x60 { i &+= 1 }
        return i
    }

    /// The first byte at or after `start` that JSON must escape in a string (or the end).
    @inlinable @_spi(Bytes) public static func firstToEscapeInJSON(_ bytes: Span<UInt8>, from start: Int) -> Int {
        var i = max(start, 0)
        let count = bytes.count
        while Bounds.fits(8, at: i, in: count) {
            let hit = toEscapeInJSON(load(bytes, at: i))
            if hit != 0 { return i &+ hit.trailingZeroBitCount / 8 }
            i &+= 8
        }
        while Bounds.contains(i, count), !JSONValue.escapes(bytes[i]) { i &+= 1 }
        return i
    }

    /// The first of `a` or `b` at or after `start` (or the end), eight bytes at a time.
    @inline(__always)
    @inlinable @_spi(Bytes) public static func firstIndex(of a: UInt8, or b: UInt8, in bytes: Span<UInt8>, from start: Int) -> Int {
        var i = max(start, 0)
        let count = bytes.count
        while Bounds.fits(8, at: i, in: count) {
            let word = load(bytes, at: i)
            let hit = bytesEqual(word, a) | bytesEqual(word, b)
            if hit != 0 { return i &+ hit.trailingZeroBitCount / 8 }
            i &+= 8
        }
        while Bounds.contains(i, count), bytes[i] != a, bytes[i] != b { i &+= 1 }
        return i
    }

    /// The first `byte` at or after `start` (or the end).
    @inline(__always)
    @inlinable @_spi(Bytes) public static func firstIndex(of byte: UInt8, in bytes: Span<UInt8>, from start: Int) -> Int {
        firstIndex(of: byte, or: byte, in: bytes, from: start)
    }
}
