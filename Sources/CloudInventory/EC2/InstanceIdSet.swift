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
            guard let packed = Self.pack(id.utf8.span) else { return nil }
            self = packed
        }

        private static func pack(_ utf8: Span<UInt8>) -> Packed? {
            guard (3...32).contains(utf8.count), utf8[0] == UInt8(ascii: "i"), utf8[1] == UInt8(ascii: "-") else { return nil }
            // 30 digits are 120 bits: `low` takes the last 16, `high` the rest below the count.
            var high: UInt64 = 0, low: UInt64 = 0
            for i in 2..<utf8.count {
                let byte = utf8[i]
                let digit = byte &- UInt8(ascii: "0"), letter = byte &- UInt8(ascii: "a")
                guard digit < 10 || letter < 6 else { return nil }
                high = high << 4 | low >> 60
                low = low << 4 | UInt64(digit < 10 ? digit : letter + 10)
            }
            return Packed(high: high | UInt64(utf8.count - 2) << 56, low: low)
        }

        private init(high: UInt64, low: UInt64) {
            self.high = high
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
            if let key = Packed(id) {
                guard !packed.contains(key), page.packed.insert(key).inserted else { return false }
            } else {
                guard !other.contains(id), page.other.insert(id).inserted else { return false }
            }
        }
        packed.formUnion(page.packed)
        other.formUnion(page.other)
        return true
    }
}
