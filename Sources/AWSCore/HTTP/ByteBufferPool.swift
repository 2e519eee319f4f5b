import Synchronization

/// Large byte buffers handed on from one page of a poll to the next.
///
/// Every page needs a response body and a rendered JSON of several megabytes each. Fresh
/// ones are fresh memory, and every 4 KiB of fresh memory is a page fault for the kernel to
/// serve: on this machine the faults of a 10,000-instance poll cost more CPU than its JSON
/// rendering. A page gives its buffers back once it is written (`recycle`), and the next
/// page takes them (`take`) with their memory still mapped. Only a few are kept, so the pool
/// never holds more than one page's worth of buffers beyond what a run needs anyway.
package final class ByteBufferPool: Sendable {
    /// The pool every poll shares (slices may run on several threads).
    package static let shared = ByteBufferPool()

    /// Smaller buffers come from the allocator's free lists cheaply: not worth keeping.
    let minimumSize: Int
    /// How many spare buffers are kept at most.
    let keeping: Int
    private let spare = Mutex<[[UInt8]]>([])

    package init(minimumSize: Int = 256 * 1024, keeping: Int = 4) {
        self.minimumSize = minimumSize
        self.keeping = keeping
    }

    /// An empty buffer with room for at least `capacity` bytes: the smallest spare one that is
    /// big enough, or a new one. Room is rounded up to whole MiB, so that the next page, a
    /// little larger, still fits (room never touched is never resident).
    package func take(minimumCapacity capacity: Int) -> [UInt8] {
        if capacity >= minimumSize, let found = spare.withLock({ list -> [UInt8]? in
            let fitting = list.indices.filter { list[$0].capacity >= capacity }
            guard let best = fitting.min(by: { list[$0].capacity < list[$1].capacity }) else { return nil }
            return list.remove(at: best)
        }) {
            return found
        }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(capacity >= minimumSize ? (capacity + Self.mebibyte - 1) / Self.mebibyte * Self.mebibyte : capacity)
        return fresh
    }

    /// Takes `buffer`'s storage back for a later `take`, leaving `buffer` empty. A buffer still
    /// shared elsewhere is simply released: its storage lives on with its other owner.
    package func recycle(_ buffer: inout [UInt8]) {
        var storage: [UInt8] = []
        swap(&storage, &buffer)
        guard storage.capacity >= minimumSize else { return }
        storage.removeAll(keepingCapacity: true)
        spare.withLock { list in
            if list.count < keeping { list.append(storage) }
        }
    }

    /// How many spare buffers the pool holds now.
    var spareCount: Int { spare.withLock { $0.count } }

    private static let mebibyte = 1 << 20
}
