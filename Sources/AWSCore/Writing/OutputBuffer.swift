/// The one owned output buffer of the package: the JSON renderer and the BSON writer write
/// their bytes here, and raw memory is touched here and nowhere else in the writers (the
/// rule of swift-nio's `ByteBuffer`).
///
/// Why not `[UInt8]`: an `Array` append checks that its storage is unique and goes through
/// the generic `append(contentsOf:)` on every call; for the renderer's million short keys and
/// values per 10,000 instances that was about a tenth of `--format json`. Here an append is
/// one capacity check and a store through a bounds-checked `MutableRawSpan`.
///
/// The raw memory is touched in five places, each with its bounds argument: the allocation
/// and its release, `put` (every store), `put(_:at:)` for a span (the one audited copy) and
/// the view of the written bytes (`withBytes`; a library that wants a pointer takes it from there).
///
/// A class, so that a `RenderBuffer` can stay copyable (a reservation's instances wait in an
/// array for its id); each buffer has one writer, and copies of a handle are never written
/// both. It frees its memory when the last handle goes.
@safe @_spi(Bytes) public final class OutputBuffer: ByteOutput {
    /// The allocation: `capacity` bytes, of which the first `count` are written.
    /// `@exclusivity(unchecked)` here and on the two counts below: the appends are `@inlinable`,
    /// compiled into the inventory's module, where every access would otherwise be checked at
    /// run time (36% of `--format json`); each buffer has one writer (see above), so no access
    /// overlaps.
    @exclusivity(unchecked) @usableFromInline var storage = unsafe UnsafeMutableRawBufferPointer(start: nil, count: 0)
    @exclusivity(unchecked) @usableFromInline var bytesWritten = 0
    /// The bytes written so far: an inlinable accessor over `bytesWritten`, because another
    /// module's own access to a stored property is checked at run time whatever it says.
    // Bounds: no memory is touched; `unsafe` only for the unchecked exclusivity of the read and write.
    @_spi(Bytes) public var count: Int { @inlinable get { unsafe bytesWritten } @inlinable set { unsafe bytesWritten = newValue } }
    /// The allocation's size (`storage.count`, kept apart so a capacity check reads no pointer).
    @exclusivity(unchecked) @usableFromInline var allocated = 0
    // Bounds: as `count`; the allocation's size, set only where the allocation is made.
    @_spi(Bytes) public var capacity: Int { @inlinable get { unsafe allocated } @inlinable set { unsafe allocated = newValue } }

    @inlinable @_spi(Bytes) public init(capacity: Int = 256) {
        self.capacity = max(capacity, 64)
        // Bounds: `capacity` bytes, the size every check below is made against.
        unsafe storage = .allocate(byteCount: self.capacity, alignment: 8)
    }

    // Bounds: the allocation of `init` (or of the larger buffer `grow` took it from), freed once.
    deinit { unsafe storage.deallocate() }

    /// Room for `n` more bytes past `count`.
    @inlinable @_spi(Bytes) public func reserve(_ n: Int) {
        if n > capacity &- count { grow(toHold: n) }
    }

    /// Stores `value` at `offset`: every write of a byte or a number comes here.
    @inlinable func put<T: BitwiseCopyable>(_ value: T, at offset: Int) {
        // Bounds: the view is the whole allocation, which this object owns; it checks the store.
        var target = unsafe MutableRawSpan(_unsafeBytes: storage)
        target.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    /// The single audited copy of the package: `source` to `offset`. Up to 16 bytes (keys,
    /// most values) go as two checked stores that overlap, which cost less than a call to
    /// `memmove` (words of eight from 8 bytes, of four from 4).
    @inlinable func put(_ source: Span<UInt8>, at offset: Int) {
        let n = source.count
        if n >= 8 && n <= 16 {
            put(Word.load(source, at: 0).littleEndian, at: offset)
            put(Word.load(source, at: n &- 8).littleEndian, at: offset &+ n &- 8)
            return
        }
        if n >= 4 && n < 8 {
            put(UInt32(truncatingIfNeeded: Word.load32(source, at: 0)).littleEndian, at: offset)
            put(UInt32(truncatingIfNeeded: Word.load32(source, at: n &- 4)).littleEndian, at: offset &+ n &- 4)
            return
        }
        precondition(offset >= 0 && offset <= capacity &- n, "copy past the end of the buffer")
        // Bounds: `offset..<offset + n` is inside the allocation (checked just above), the source is `n` bytes.
        unsafe source.withUnsafeBytes { unsafe UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + n)]).copyMemory(from: $0) }
    }

    @inlinable @_spi(Bytes) public func append(_ byte: UInt8) {
        reserve(1)
        put(byte, at: count)
        count += 1
    }

    @inlinable @_spi(Bytes) public func append(_ bytes: Span<UInt8>) {
        let n = bytes.count
        reserve(n)
        put(bytes, at: count)
        count += n
    }

    /// A literal (`true`, `null`, `+00:00`): its words stored whole, in room for both.
    @inlinable @_spi(Bytes) public func append(_ literal: ByteLiteral) {
        reserve(16)
        put(literal.words.low.littleEndian, at: count)
        if literal.count > 8 { put(literal.words.high.littleEndian, at: count + 8) }
        count += literal.count
    }

    /// `head`, `bytes`, then `tail`, in one reservation: a BSON element's type, key and NUL.
    @inlinable @_spi(Bytes) public func append(_ head: UInt8, _ bytes: Span<UInt8>, _ tail: UInt8) {
        let n = bytes.count
        reserve(n + 2)
        put(head, at: count)
        put(bytes, at: count + 1)
        put(tail, at: count + 1 + n)
        count += n + 2
    }

    /// `bytes` after their length plus one as a little-endian `Int32`, and a NUL after them:
    /// a BSON string, in one reservation.
    @inlinable @_spi(Bytes) public func appendLengthPrefixed(_ bytes: Span<UInt8>) {
        let n = bytes.count
        reserve(n + 5)
        put(Int32(truncatingIfNeeded: n + 1).littleEndian, at: count)
        put(bytes, at: count + 4)
        put(UInt8(0), at: count + 4 + n)
        count += n + 5
    }

    /// A fixed-width integer, little-endian (BSON's lengths and numbers).
    @inlinable @_spi(Bytes) public func append<T: FixedWidthInteger & BitwiseCopyable>(littleEndian value: T) {
        reserve(MemoryLayout<T>.size)
        put(value.littleEndian, at: count)
        count += MemoryLayout<T>.size
    }

    /// Overwrites written bytes at `offset` (a length prefix, a type byte learnt late).
    @inlinable @_spi(Bytes) public func store<T: FixedWidthInteger & BitwiseCopyable>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset <= count &- MemoryLayout<T>.size, "store outside the written bytes")
        put(value, at: offset)
    }

    /// The run of `bytes` from `start` that needs no JSON escape, copied a word at a time
    /// as it is scanned, into room made once: for the renderer's 70 strings an instance, one
    /// pass over each instead of a scan and a copy. Returns where the run ends.
    @inlinable @_spi(Bytes) public func appendPlainJSON(_ bytes: Span<UInt8>, from start: Int) -> Int {
        let end = bytes.count
        guard start >= 0, start < end else { return max(start, 0) }
        reserve(end - start)
        let stop = plainJSONRun(bytes, from: start, at: count)
        count += stop - start
        return stop
    }

    /// `appendPlainJSON`'s copy: to `base`, returning where the run ends.
    @inlinable func plainJSONRun(_ bytes: Span<UInt8>, from start: Int, at base: Int) -> Int {
        let end = bytes.count
        var i = start
        // Four to seven bytes (half of EC2's values): two words of four that overlap,
        // checked as one; any hit is left to the byte loop, which finds the first.
        if (4..<8).contains(end - start) {
            let head = Word.load32(bytes, at: start), tail = Word.load32(bytes, at: end - 4)
            if Word.toEscapeInJSON(head | tail << 32) == 0 {
                put(UInt32(truncatingIfNeeded: head).littleEndian, at: base)
                put(UInt32(truncatingIfNeeded: tail).littleEndian, at: base + end - start - 4)
                return end
            }
        }
        // A run of eight or more ends with a word that overlaps the one before: its bytes
        // already seen are plain, so its lowest hit is still exact.
        while end - start >= 8 {
            i = min(i, end - 8)
            let word = Word.load(bytes, at: i)
            put(word.littleEndian, at: base + i - start)
            let hit = Word.toEscapeInJSON(word)
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
            if i >= end { return end }
        }
        while Bounds.contains(i, end), !JSONValue.escapes(bytes[i]) {
            put(bytes[i], at: base + i - start)
            i &+= 1
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
        // Bounds: the first `count` bytes, all written (every append writes before it counts).
        let written = unsafe Span<UInt8>(_unsafeBytes: UnsafeRawBufferPointer(rebasing: storage[0..<count]))
        return try body(written)
    }

    /// A copy of the bytes written.
    @inlinable @_spi(Bytes) public var bytes: [UInt8] {
        var copy: [UInt8] = []
        copyBytes(to: &copy)
        return copy
    }

    /// Appends the bytes written to `array` in one copy (the renderer's page).
    @inlinable @_spi(Bytes) public func copyBytes(to array: inout [UInt8]) {
        // Bounds: the `count` written bytes, copied by the array before the call returns.
        withBytes { unsafe $0.withUnsafeBytes { unsafe array.append(contentsOf: $0) } }
    }

    /// A larger allocation with the bytes written so far: a fresh buffer takes them through
    /// the audited copy, then the two trade allocations and the fresh one frees the old.
    @inline(never)
    @usableFromInline func grow(toHold extra: Int) {
        var room = max(capacity * 2, 64)
        while room < count + extra { room *= 2 }
        let larger = OutputBuffer(capacity: room)
        withBytes { larger.append($0) }
        // Bounds: each allocation moves whole to the other owner, `capacity` below follows it.
        // (Two plain assignments, not `swap`: an inout access here would make every read of
        // `storage` pay a dynamic exclusivity check.)
        unsafe (storage, larger.storage) = (larger.storage, storage)
        capacity = room
    }
}
