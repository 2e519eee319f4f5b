@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Testing

/// `RenderBuffer` takes the content hash from the canonical form it copies out of the rendered
/// bytes after the fact (objects and members noted while writing). Here random documents, with
/// members in random order at every level, are written through the renderer's calls and must
/// hash as `InventoryStore.contentHash` hashes their value tree.
@Suite struct CanonicalHashTests {
    static let keys = ["a", "b", "Code", "Name", "State", "Tags", "NetworkInterfaces", "\u{0}", "é", "ab", "aa", "InstanceId"]

    static func value(depth: Int, _ rng: inout SeededGenerator) -> JSONValue {
        switch depth > 3 ? Int.random(in: 0...1, using: &rng) : Int.random(in: 0...4, using: &rng) {
        case 0: return .string(["x", "", "q\"\\", "ünï"].randomElement(using: &rng)!)
        case 1: return .int(Int64.random(in: -5...5, using: &rng))
        case 2: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(depth: depth + 1, &rng) })
        default: return object(depth: depth + 1, &rng)
        }
    }

    static func object(depth: Int, _ rng: inout SeededGenerator) -> JSONValue {
        let names = keys.shuffled(using: &rng).prefix(Int.random(in: 0...6, using: &rng))
        return .object(names.map { JSONMember($0, value(depth: depth, &rng)) })
    }

    /// Writes `value` the way `ShapeDecoder` renders: keys with their rank in the object's
    /// canonical order, leaves straight into `out`.
    static func render(_ value: JSONValue, into buffer: inout RenderBuffer) {
        switch value {
        case let .object(members):
            let sorted = members.map(\.key).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            buffer.openObject()
            for (i, member) in members.enumerated() {
                buffer.key(JSONValue.jsonKey(member.key), first: i == 0, rank: UInt8(sorted.firstIndex(of: member.key)!))
                render(member.value, into: &buffer)
            }
            buffer.closeObject()
        case let .array(items):
            buffer.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                render(item, into: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        default:
            value.write(to: &buffer.out)
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func theHashOfTheRenderedBytesIsTheTreesHash(seed: UInt64) {
        var rng = SeededGenerator(state: seed)
        let scratch = OutputBuffer()
        for _ in 0..<500 {
            let document = Self.object(depth: 0, &rng)
            var buffer = RenderBuffer(capacity: 0, hashing: true)
            Self.render(document, into: &buffer)
            var plain: [UInt8] = []
            document.write(to: &plain)
            #expect(buffer.out.bytes == plain)
            #expect(buffer.contentHash(scratch: scratch) == InventoryStore.contentHash(document))
        }
    }
}
