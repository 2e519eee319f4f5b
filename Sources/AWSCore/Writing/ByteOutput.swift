/// Where JSON is written: an `[UInt8]`, or the `OutputBuffer` where every byte counts (the
/// renderer, the BSON writer). Writers are generic over it, so one escaping routine serves
/// both and is specialised for each.
public protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(_ bytes: Span<UInt8>)
    /// Appends `bytes` from `start` up to the first byte JSON must escape in a string, and
    /// returns where that byte is (or the end): `JSONValue.writeString`'s plain runs.
    mutating func appendPlainJSON(_ bytes: Span<UInt8>, from start: Int) -> Int
    /// A literal's bytes (`"null"`, `"true"`).
    @_spi(Bytes) mutating func append(_ literal: ByteLiteral)
}

extension ByteOutput {
    public mutating func appendPlainJSON(_ bytes: Span<UInt8>, from start: Int) -> Int {
        let end = Word.firstToEscapeInJSON(bytes, from: start)
        if start < end { append(bytes.extracting(start..<end)) }
        return end
    }

    @inlinable @_spi(Bytes) public mutating func append(_ literal: ByteLiteral) {
        for i in 0..<literal.count { append(literal.byte(i)) }
    }

    @inlinable @_spi(Bytes) public mutating func append(_ bytes: [UInt8]) {
        append(bytes.span)
    }
}

extension Array: ByteOutput where Element == UInt8 {
    /// Arrays take the cold paths (value trees, spool headers): a byte at a time is enough.
    @inlinable public mutating func append(_ bytes: Span<UInt8>) {
        reserveCapacity(count + bytes.count)
        for i in bytes.indices { append(bytes[i]) }
    }
}
