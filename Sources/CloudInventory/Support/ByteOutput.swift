/// Where JSON is written: an `[UInt8]`, or `OutputBytes` where every byte counts (the renderer).
/// Writers are generic over it, so one escaping routine serves both and is specialised for each.
protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeBufferPointer<UInt8>)
}

extension ByteOutput {
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
