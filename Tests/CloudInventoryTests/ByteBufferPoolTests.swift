@testable import AWSCore
@testable import CloudInventory
import Testing

/// `ByteBufferPool` hands a page's large buffers to the next page. What matters: a buffer
/// taken is always empty with the room asked for, storage comes back only when nobody else
/// holds it, and the pool keeps no more than it says.
@Suite struct ByteBufferPoolTests {
    /// Where the buffer's storage is, as a number: only compared, never followed.
    static func address(_ buffer: [UInt8]) -> Int? {
        unsafe buffer.withUnsafeBytes { unsafe $0.baseAddress.map { Int(bitPattern: $0) } }
    }

    @Test func aRecycledBufferIsTakenAgainEmptyWithItsStorage() {
        let pool = ByteBufferPool(minimumSize: 1024, keeping: 2)
        var first = pool.take(minimumCapacity: 5000)
        #expect(first.isEmpty && first.capacity >= 5000)
        first.append(contentsOf: repeatElement(7, count: 5000))
        let storage = Self.address(first)
        pool.recycle(&first)
        #expect(first.isEmpty)
        let second = pool.take(minimumCapacity: 4000)
        #expect(second.isEmpty && second.capacity >= 4000)
        #expect(Self.address(second) == storage)
    }

    @Test func aBufferTooSmallForTheRequestIsNotHandedOut() {
        let pool = ByteBufferPool(minimumSize: 1024, keeping: 2)
        var small = pool.take(minimumCapacity: 2000)
        small.append(1)
        let storage = Self.address(small)
        pool.recycle(&small)
        let big = pool.take(minimumCapacity: 8 << 20)
        #expect(big.capacity >= 8 << 20 && Self.address(big) != storage)
    }

    @Test func aSharedBufferKeepsItsBytesForItsOtherOwner() {
        let pool = ByteBufferPool(minimumSize: 1024, keeping: 2)
        var buffer = pool.take(minimumCapacity: 4096)
        buffer.append(contentsOf: [1, 2, 3])
        let other = buffer
        pool.recycle(&buffer)
        let next = pool.take(minimumCapacity: 4096)
        #expect(other == [1, 2, 3])
        #expect(next.isEmpty)
    }

    @Test func smallBuffersAreNotKeptAndTheCountIsBounded() {
        let pool = ByteBufferPool(minimumSize: 1024, keeping: 2)
        var tiny: [UInt8] = [1]
        pool.recycle(&tiny)
        #expect(pool.spareCount == 0)
        var buffers = (0..<4).map { _ in pool.take(minimumCapacity: 2048) }
        for i in buffers.indices { pool.recycle(&buffers[i]) }
        #expect(pool.spareCount == 2)
        _ = pool.take(minimumCapacity: 2048)
        #expect(pool.spareCount == 1)
    }
}
