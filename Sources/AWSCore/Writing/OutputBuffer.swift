/// The one owned output buffer of the package: the JSON renderer and the BSON writer write
/// their bytes here, and raw memory is touched here and nowhere else in the writers (the
/// rule of swift-nio's `ByteBuffer`).
///
/// Why not `[UInt8]`: an `Array` append checks that its storage is unique and goes through
/// the generic `append(contentsOf:)` on every call; for the renderer's million short keys and
/// values per 10,000 instances that was about a tenth of `--format json`. Here an append is
/// one capacity check and a store through a bounds-checked `MutableRawSpan`.
///
/// A class, so that a `RenderBuffer` can stay copyable (a reservation's instances wait in an
/// array for its id); each buffer has one writer, and copies of a handle are never written
/// both. It frees its memory when the last handle goes.
@safe @_spi(Bytes) public final class OutputBuffer: ByteOutput {
    /// The allocation: `capacity` bytes, of which the first `count` are written. Only
    /// `withStorage`, `append(_: Span)` and `withUnsafeBytes` read the pointer.
    @exclusivity(unchecked) @usableFromInline var storage = unsafe UnsafeMutableRawBufferPointer(start: nil, count: 0)
    @exclusivity(unchecked) @usableFromInline var bytesWritten = 0
    /// The bytes written so far. An inlinable accessor over `bytesWritten`, not the stored property
    /// itself: another module's own access to a stored property of this class is checked at
    /// run time (`@exclusivity(unchecked)` does not reach it), an inlined accessor is not.
    @_spi(Bytes) public var count: Int { @inlinable get { unsafe bytesWritten } @inlinable set { unsafe bytesWritten = newValue } }
    /// The allocation's size (`storage.count`, kept apart so a capacity check reads no pointer);
    /// an accessor over `allocated`, as `count` is over `bytesWritten`.
    @exclusivity(unchecked) @usableFromInline var allocated = 0
    @_spi(Bytes) public var capacity: Int { @inlinable get { unsafe allocated } @inlinable set { unsafe allocated = newValue } }

    @inlinable @_spi(Bytes) public init(capacity: Int = 256) {
        self.capacity = max(capacity, 64)
        unsafe storage = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { unsafe storage.deallocate() }

    /// Room for `n` more bytes past `count`.
    @inline(__always)
    @inlinable @_spi(Bytes) public func reserve(_ n: Int) {
        if n > capacity &- count { grow(toHold: n) }
    }

    @inline(__always)
    @inlinable @_spi(Bytes) public func append(_ byte: UInt8) {
        reserve(1)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    @inlinable @_spi(Bytes) public func append(_ bytes: Span<UInt8>) {
        let n = bytes.count
        reserve(n)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        Self.auditedCopy(bytes, into: &target, at: count)
        count += n
    }

    /// The single audited copy of the package: the target range `offset..<offset + n` is
    /// checked against the target view first, and the source is exactly `n` bytes long.
    @inline(__always)
    @inlinable static func auditedCopy(_ source: Span<UInt8>, into target: inout MutableRawSpan, at offset: Int) {
        let n = source.count
        precondition(offset >= 0 && offset <= target.byteCount - n, "copy past the end of the buffer")
        unsafe target.withUnsafeMutableBytes { to in
            unsafe source.withUnsafeBytes { from in
                unsafe UnsafeMutableRawBufferPointer(rebasing: to[offset..<(offset + n)]).copyMemory(from: from)
            }
        }
    }

    /// `head`, `bytes`, then `tail`, in one reservation: a BSON element's type, key and NUL.
    @inline(__always)
    @inlinable @_spi(Bytes) public func append(_ head: UInt8, _ bytes: Span<UInt8>, _ tail: UInt8) {
        let n = bytes.count
        reserve(n + 2)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: head, toByteOffset: count, as: UInt8.self)
        Self.auditedCopy(bytes, into: &target, at: count + 1)
        target.storeBytes(of: tail, toByteOffset: count + 1 + n, as: UInt8.self)
        count += n + 2
    }

    /// `bytes` after their length plus one as a little-endian `Int32`, and a NUL after them:
    /// a BSON string, in one reservation.
    @inline(__always)
    @inlinable @_spi(Bytes) public func appendLengthPrefixed(_ bytes: Span<UInt8>) {
        let n = bytes.count
        reserve(n + 5)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: Int32(truncatingIfNeeded: n + 1).littleEndian, toByteOffset: count, as: Int32.self)
        Self.auditedCopy(bytes, into: &target, at: count + 4)
        target.storeBytes(of: 0, toByteOffset: count + 4 + n, as: UInt8.self)
        count += n + 5
    }

    /// A fixed-width integer, little-endian (BSON's lengths and numbers).
    @inline(__always)
    @inlinable @_spi(Bytes) public func append<T: FixedWidthInteger & BitwiseCopyable>(littleEndian value: T) {
        reserve(MemoryLayout<T>.size)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Overwrites written bytes at `offset` (a length prefix, a type byte learnt late).
    @inline(__always)
    @inlinable @_spi(Bytes) public func store<T: FixedWidthInteger & BitwiseCopyable>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset <= count &- MemoryLayout<T>.size, "store outside the written bytes")
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    /// The run of `bytes` from `start` that needs no JSON escape, copied a word at a time
    /// as it is scanned, into room made once: for the renderer's 70 strings an instance, one
    /// pass over each instead of a scan and a copy. Returns where the run ends.
    @inline(__always)
    @inlinable @_spi(Bytes) public func appendPlainJSON(_ bytes: Span<UInt8>, from start: Int) -> Int {
        let end = bytes.count
        guard start >= 0, start < end else { return max(start, 0) }
        reserve(end - start)
        // A bounds-checked view of the whole allocation, which outlives this call.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        let stop = Self.plainJSONRun(bytes, from: start, into: &target, at: count)
        count += stop - start
        return stop
    }

    /// `appendPlainJSON`'s copy: into `target` at `base`, returning where the run ends.
    @inline(__always)
    @inlinable static func plainJSONRun(_ bytes: Span<UInt8>, from start: Int, into target: inout MutableRawSpan, at base: Int) -> Int {
        let end = bytes.count
        var i = start
        // Four to seven bytes (half of EC2's values): two words of four that overlap,
        // checked as one; any hit is left to the byte loop, which finds the first.
        if (4..<8).contains(end - start) {
            let head = Word.load32(bytes, at: start), tail = Word.load32(bytes, at: end - 4)
            if Word.toEscapeInJSON(head | tail << 32) == 0 {
                target.storeBytes(of: UInt32(truncatingIfNeeded: head).littleEndian, toByteOffset: base, as: UInt32.self)
                target.storeBytes(of: UInt32(truncatingIfNeeded: tail).littleEndian, toByteOffset: base + end - start - 4, as: UInt32.self)
                return end
            }
        }
        // A run of eight or more ends with a word that overlaps the one before: its bytes
        // already seen are plain, so its lowest hit is still exact.
        // Bounds, once for the loop: `i + 8 <= end == bytes.count` for every load, and every
        // store lands in `base..<base + (end - start)`, which the caller reserved.
        precondition(start >= 0 && base >= 0 && base + (end - start) <= target.byteCount)
        while end - start >= 8 {
            i = min(i, end - 8)
            let word = UInt64(littleEndian: unsafe RawSpan(_elements: bytes).unsafeLoadUnaligned(fromUncheckedByteOffset: i, as: UInt64.self))
            unsafe target.storeBytes(of: word.littleEndian, toUncheckedByteOffset: base + i - start, as: UInt64.self)
            let hit = Word.toEscapeInJSON(word)
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
            if i >= end { return end }
        }
        while i < end, !JSONValue.escapes(bytes[i]) {
            target.storeBytes(of: bytes[i], toByteOffset: base + i - start, as: UInt8.self)
            i += 1
        }
        return i
    }

    /// Drops the last byte written (there must be one).
    @inlinable @_spi(Bytes) public func removeLast() {
        precondition(count > 0, "removeLast on an empty OutputBuffer")
        count -= 1
    }

    /// Empties the buffer and keeps its storage.
    @inlinable @_spi(Bytes) public func reset() { count = 0 }

    /// `body` with the bytes written, in place.
    @inlinable @_spi(Bytes) public func withBytes<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        // The first `count` bytes are initialised (every append writes before it counts).
        let written = unsafe Span<UInt8>(_unsafeBytes: UnsafeRawBufferPointer(rebasing: storage[0..<count]))
        return try body(written)
    }

    /// `body` with the bytes written as a C pointer: only for handing them to a C library
    /// (libmongoc, the hash), which must not keep the pointer.
    @inlinable @_spi(Bytes) public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try unsafe body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A copy of the bytes written.
    @inlinable @_spi(Bytes) public var bytes: [UInt8] {
        var copy: [UInt8] = []
        copyBytes(to: &copy)
        return copy
    }

    /// Appends the bytes written to `array` in one copy (the renderer's page): the array
    /// copies from the `count` initialised bytes, and no pointer outlives the call.
    @inlinable @_spi(Bytes) public func copyBytes(to array: inout [UInt8]) {
        unsafe withUnsafeBytes { unsafe array.append(contentsOf: $0) }
    }

    @inline(never)
    @usableFromInline func grow(toHold extra: Int) {
        var room = max(capacity * 2, 64)
        while room < count + extra { room *= 2 }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: room, alignment: 8)
        // The old allocation's `count` written bytes into the larger one.
        unsafe larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<count]))
        unsafe storage.deallocate()
        unsafe storage = larger
        capacity = room
    }
}

