/// The instance ids a slice has handed over so far, so that an instance EC2 lists on two
/// pages is handed over once. A slice of 50,000 instances keeps 50,000 ids for the whole
/// poll: as `String`s (19 bytes, past the 15 a `String` holds inline) that was a heap object
/// each, about 3 MB of the poll's peak RSS. An id of EC2's form (`i-` and lowercase hex) is
/// kept as 16 bytes instead; any other id, exactly as it came.
struct InstanceIdSet {
    private var packed: Set<Packed> = []
    private var other: Set<String> = []

    var count: Int { packed.count + other.count }

    /// `i-` and 1 to 30 lowercase hex digits, as the digits' value and their count: two
    /// different ids of this form never pack the same (the count tells `i-0f` from `i-f`).
    private struct Packed: Hashable {
        var high: UInt64, low: UInt64

        init?(_ id: String) {
            var utf8 = id.utf8.makeIterator()
            guard utf8.next() == UInt8(ascii: "i"), utf8.next() == UInt8(ascii: "-") else { return nil }
            var high: UInt64 = 0, low: UInt64 = 0, digits: UInt64 = 0
            while let byte = utf8.next() {
                let value: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
                default: return nil
                }
                guard digits < 30 else { return nil }
                // 30 digits are 120 bits: `low` takes the last 16, `high` the rest below its count.
                high = high << 4 | low >> 60
                low = low << 4 | UInt64(value)
                digits += 1
            }
            guard digits > 0 else { return nil }
            self.high = high | digits << 56
            self.low = low
        }
    }

    /// Adds `id`; false when it was already there.
    @discardableResult
    mutating func insert(_ id: String) -> Bool {
        if let key = Packed(id) { return packed.insert(key).inserted }
        return other.insert(id).inserted
    }

    func contains(_ id: String) -> Bool {
        if let key = Packed(id) { return packed.contains(key) }
        return other.contains(id)
    }

    /// Adds every one of `ids` and returns true when none was there and none repeats; leaves
    /// the set unchanged otherwise.
    mutating func insertAllNew(_ ids: [String]) -> Bool {
        var page = InstanceIdSet()
        for id in ids {
            guard !contains(id), page.insert(id) else { return false }
        }
        packed.formUnion(page.packed)
        other.formUnion(page.other)
        return true
    }
}
