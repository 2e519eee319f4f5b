/// Where JSON is written: an `[UInt8]`, or `OutputBytes` where every byte counts (the renderer).
/// Writers are generic over it, so one escaping routine serves both and is specialised for each.
protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeBufferPointer<UInt8>)
    /// Appends `buffer` from `start` up to the first byte JSON must escape in a string, and
    /// returns where that byte is (or the end): `JSONValue.writeString`'s plain runs.
    mutating func appendPlainJSON(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int
}

extension ByteOutput {
    @inline(__always)
    mutating func appendPlainJSON(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let end = JSONValue.firstToEscape(buffer, from: start)
        if start < end { append(bytes: UnsafeBufferPointer(rebasing: buffer[start..<end])) }
        return end
    }

    @inline(__always)
    mutating func append(ascii text: StaticString) {
        append(bytes: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

extension Array: ByteOutput where Element == UInt8 {
    @inline(__always)
    mutating func append(bytes: UnsafeBufferPointer<UInt8>) {
        append(contentsOf: bytes)
    }
}

/// A growing byte buffer written through a pointer. An `Array` append checks that its storage
/// is unique and goes through the generic `append(contentsOf:)` on every call: for the
/// renderer's million short keys and values per 10,000 instances that was about a tenth of
/// `--format json`. Here an append is one capacity check and a copy.
///
/// A class, so that a `RenderBuffer` can stay copyable (a reservation's instances wait in an
/// array for its id); each buffer has one writer, and copies of a `RenderBuffer` are never
/// written both.
final class OutputBytes: ByteOutput {
    private(set) var count = 0
    private var capacity: Int
    private var base: UnsafeMutablePointer<UInt8>

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, !bytes.isEmpty else { return }
        if capacity - count < bytes.count { grow(toHold: bytes.count) }
        (base + count).initialize(from: from, count: bytes.count)
        count += bytes.count
    }

    /// The run is copied a word at a time as it is scanned, into room made once: for the
    /// renderer's 70 strings an instance, one pass over each instead of a scan and a `memcpy`.
    @inline(__always)
    func appendPlainJSON(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let from = buffer.baseAddress, start < buffer.count else { return start }
        if capacity - count < buffer.count - start { grow(toHold: buffer.count - start) }
        let source = UnsafeRawPointer(from), target = UnsafeMutableRawPointer(base + count)
        var i = start
        // A run of eight or more ends with a word that overlaps the one before: its bytes
        // already seen are plain, so its lowest hit is still exact.
        while buffer.count - start >= 8 {
            i = min(i, buffer.count - 8)
            let word = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            target.storeBytes(of: word, toByteOffset: i - start, as: UInt64.self)
            let hit = Word.toEscapeInJSON(UInt64(littleEndian: word))
            if hit != 0 {
                i += hit.trailingZeroBitCount / 8
                count += i - start
                return i
            }
            i += 8
            if i >= buffer.count { break }
        }
        // Four to seven bytes (half of EC2's values): two words of four that overlap, checked
        // as one; any hit is left to the byte loop, which finds the first.
        if (4..<8).contains(buffer.count - start) {
            let head = source.loadUnaligned(fromByteOffset: start, as: UInt32.self)
            let tail = source.loadUnaligned(fromByteOffset: buffer.count - 4, as: UInt32.self)
            if Word.toEscapeInJSON(UInt64(UInt32(littleEndian: head)) | UInt64(UInt32(littleEndian: tail)) << 32) == 0 {
                target.storeBytes(of: head, toByteOffset: 0, as: UInt32.self)
                target.storeBytes(of: tail, toByteOffset: buffer.count - 4 - start, as: UInt32.self)
                count += buffer.count - start
                return buffer.count
            }
        }
        while i < buffer.count {
            let byte = from[i]
            if JSONValue.escapes(byte) { break }
            target.storeBytes(of: byte, toByteOffset: i - start, as: UInt8.self)
            i += 1
        }
        count += i - start
        return i
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append(bytes: $0) }
    }

    /// Drops the last byte written (there must be one).
    func removeLast() {
        precondition(count > 0, "removeLast on empty OutputBytes")
        count -= 1
    }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// A copy of the bytes written.
    var bytes: [UInt8] { withUnsafeBufferPointer { Array($0) } }

    @inline(never)
    private func grow(toHold extra: Int) {
        let newCapacity = Swift.max(capacity * 2, count + extra)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.initialize(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }
}
