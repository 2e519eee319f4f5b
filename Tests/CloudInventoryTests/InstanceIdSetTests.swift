@testable import CloudInventory
import Testing

/// `InstanceIdSet` keeps EC2-form ids packed in 16 bytes and every other id as it came. It
/// must answer exactly as a `Set<String>` of the same ids would: no two ids may pack the
/// same, and an id that does not pack must still be found.
@Suite struct InstanceIdSetTests {
    /// Ids near the packed form's edges: leading zeros, upper case, the empty digit run, 30
    /// and 31 digits, other prefixes, non-ASCII.
    static func id(_ rng: inout SeededGenerator) -> String {
        let hex = Array("0123456789abcdef")
        func digits(_ n: Int) -> String { String((0..<n).map { _ in hex[Int.random(in: 0..<16, using: &rng)] }) }
        switch Int.random(in: 0...9, using: &rng) {
        case 0: return "i-" + String(repeating: "0", count: Int.random(in: 0...3, using: &rng)) + digits(Int.random(in: 0...2, using: &rng))
        case 1: return "i-" + digits(Int.random(in: 29...31, using: &rng))
        case 2: return ["i-", "i", "", "I-0f", "i-0F", "i-0g", "j-0f", "i-0f ", "i-é", "i-\u{0}"].randomElement(using: &rng)!
        case 3: return "i-" + digits(Int.random(in: 1...2, using: &rng)).uppercased()
        default: return "i-" + digits([8, 17].randomElement(using: &rng)!)
        }
    }

    @Test func answersAsASetOfStrings() {
        var rng = SeededGenerator(state: 12)
        for _ in 0..<200 {
            var set = InstanceIdSet(), reference = Set<String>()
            for _ in 0..<Int.random(in: 1...60, using: &rng) {
                let id = Self.id(&rng)
                if Bool.random(using: &rng) {
                    #expect(set.contains(id) == reference.contains(id), "\(id)")
                } else {
                    let inserted = set.insert(id)
                    #expect(inserted == reference.insert(id).inserted, "\(id)")
                }
                #expect(set.count == reference.count)
            }
        }
    }

    @Test func takesAPageOnlyWhenAllOfItIsNew() {
        var rng = SeededGenerator(state: 13)
        for _ in 0..<300 {
            var set = InstanceIdSet(), reference = Set<String>()
            for _ in 0..<4 {
                let page = (0..<Int.random(in: 0...8, using: &rng)).map { _ in Self.id(&rng) }
                let allNew = Set(page).count == page.count && reference.isDisjoint(with: page)
                let taken = set.insertAllNew(page)
                #expect(taken == allNew, "\(page)")
                if allNew { reference.formUnion(page) }
                #expect(set.count == reference.count)
                for id in page { #expect(set.contains(id) == reference.contains(id)) }
            }
        }
    }

    @Test func idsThatDifferOnlyInLeadingZerosAreDifferent() {
        var set = InstanceIdSet()
        for id in ["i-f", "i-0f", "i-00f", "i-" + String(repeating: "0", count: 29) + "f", "i-" + String(repeating: "0", count: 30) + "f"] {
            let inserted = set.insert(id)
            #expect(inserted, "\(id)")
        }
        let again = set.insert("i-0f")
        #expect(!again)
        #expect(set.count == 5)
    }
}
