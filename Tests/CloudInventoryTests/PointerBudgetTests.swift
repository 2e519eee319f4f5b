@_spi(Bytes) import AWSCore
import Foundation
import Testing

/// Issue 24's rule for the files that parse or write bytes from outside: at most `target`
/// uses of pointer APIs in all, each with a one-line bounds argument on the line before it.
/// Calls into C stay in the files that wrap libmongoc, libcurl and the OS, which this list
/// leaves out.
///
/// `budget` is today's count, within the target: the owned output buffer's raw memory (its
/// allocation, its one store, its one copy, its view of the written bytes), the one word
/// load, the literal's reading of its static string, and the content hash's pointer for
/// swift-crypto. A new use over it fails here, not in review.
struct PointerBudgetTests {
    static let target = 15
    /// 12, plus the two accessor lines of `OutputBuffer.count` and `.capacity`: their stored
    /// properties are `@exclusivity(unchecked)` (AWSCore's appends are inlined into the
    /// inventory, which would otherwise pay a dynamic exclusivity check on every one).
    static let budget = 14

    /// The parsing and writing files: every reader and writer of outside bytes.
    static let folders = ["Sources/CloudInventory/EC2"]
    static let files = [
        "Sources/AWSCore/Parsing/ByteCursor.swift", "Sources/AWSCore/Parsing/JSONGrammar.swift",
        "Sources/AWSCore/Parsing/JSONGrammar+Scalars.swift", "Sources/AWSCore/Parsing/Bounds.swift",
        "Sources/AWSCore/Parsing/Word.swift", "Sources/AWSCore/Writing/ByteOutput.swift",
        "Sources/AWSCore/Writing/OutputBuffer.swift", "Sources/CloudInventory/Store/CanonicalRecords.swift",
        "Sources/CloudInventory/Store/InventoryStore.swift",
        "Sources/AWSCore/Parsing/XMLScanner.swift", "Sources/AWSCore/Parsing/XMLScanner+Text.swift",
        "Sources/AWSCore/Parsing/JSONParser.swift", "Sources/AWSCore/Parsing/JSONValue.swift",
        "Sources/AWSCore/Parsing/UTCTime.swift", "Sources/AWSCore/Parsing/PercentEncoding.swift",
        "Sources/AWSCore/Parsing/URLParts.swift", "Sources/AWSCore/Protocols/QueryResponse.swift",
        "Sources/CloudInventory/BSON/BSON.swift", "Sources/CloudInventory/BSON/BSONDecoder.swift",
        "Sources/CloudInventory/BSON/BSONWriter.swift", "Sources/CloudInventory/BSON/BSONWriter+JSON.swift",
        "Sources/CloudInventory/Spool/SpoolPageReader.swift", "Sources/CloudInventory/Spool/SpoolPageReader+Strings.swift",
    ]

    /// What counts as a use: the raw pointer types, the `withUnsafe…` family, the C memory
    /// functions, the spans' unchecked and unsafe members, and allocation.
    static let pattern = try! NSRegularExpression(pattern: #"\bunsafe\b|\bUnsafe(Mutable)?(Raw)?(Buffer)?Pointer\b|\bOpaquePointer\b|\bwithUnsafe\w*|\bmem(chr|cmp|cpy|move)\b|\bunsafeLoad\w*|Unchecked\w*Offset|\b_unsafe\w*|\.baseAddress\b|assumingMemoryBound|bindMemory|\.allocate\(|\.deallocate\("#)

    static func uses(in text: String) -> [(line: Int, text: String)] {
        var found: [(Int, String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = String(line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            let range = NSRange(code.startIndex..., in: code)
            if pattern.firstMatch(in: code, range: range) != nil { found.append((number + 1, code.trimmingCharacters(in: .whitespaces))) }
        }
        return found
    }

    static func sources() throws -> [String] {
        let root = Harness.repoRoot
        var paths = files.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            paths += names.filter { $0.hasSuffix(".swift") }.map { "\(folder)/\($0)" }
        }
        return paths.sorted()
    }

    @Test func theParsingAndWritingFilesStayWithinTheBudget() throws {
        var all: [String] = []
        for path in try Self.sources() {
            let text = try String(contentsOf: Harness.repoRoot.appendingPathComponent(path), encoding: .utf8)
            all += Self.uses(in: text).map { "\(path):\($0.line): \($0.text)" }
        }
        #expect(all.count <= Self.budget, "\(all.count) pointer-API uses (budget \(Self.budget), target \(Self.target)):\n\(all.joined(separator: "\n"))")
    }

    /// Each use says why it stays in bounds, in a comment on the line before it (a `///` or
    /// `//` line), so a reviewer reads the argument where the use is.
    @Test func everyUseHasItsBoundsArgumentOnTheLineBefore() throws {
        var bare: [String] = []
        for path in try Self.sources() {
            let lines = try String(contentsOf: Harness.repoRoot.appendingPathComponent(path), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            for use in Self.uses(in: lines.joined(separator: "\n")) where use.line >= 2 {
                if !lines[use.line - 2].trimmingCharacters(in: .whitespaces).hasPrefix("//") { bare.append("\(path):\(use.line): \(use.text)") }
            }
        }
        #expect(bare.isEmpty, "pointer-API uses without a bounds comment on the line before:\n\(bare.joined(separator: "\n"))")
    }

    @Test func aUseIsCountedOnceAndCommentsAreNot() {
        let text = "let a = x.baseAddress!  // withUnsafeBytes\n/// UnsafeRawPointer in a comment\nlet b = 1\n"
        #expect(Self.uses(in: text).map(\.line) == [1])
    }
}
