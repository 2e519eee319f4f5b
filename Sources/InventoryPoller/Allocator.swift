import CMalloc

/// glibc's allocator, set once before any thread starts.
///
/// Every page of a poll needs a few multi-megabyte buffers (the response body, the rendered
/// JSON, the bulk write). glibc serves them with `mmap` at first, but each time such a block
/// is freed it raises its mmap threshold to that block's size (up to 32 MiB), and from then
/// on the page buffers come from the heap, where the freed ones stay resident and fragment
/// it: 7 MiB more peak RSS on a 10,000-instance poll, for the same work. Pinning the
/// threshold at glibc's own starting value (128 KiB) keeps large buffers mapped, and handed
/// back the moment they are freed. `docs/benchmarks.md` has the measurements.
enum Allocator {
    static let mmapThreshold: Int32 = 128 * 1024

    static func configure() {
        // 0 means glibc refused the value; the default behaviour is then merely slower.
        _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold)
    }
}
