@testable import CloudInventory
import Foundation
import Testing

/// The spool's line reader over lines shorter, equal and longer than its 1 MiB reads, empty
/// lines, and a last line cut short: each line whole, in order, once.
@Suite struct SpoolLineReaderTests {
    @Test func linesAcrossReadsComeBackWholeAndInOrder() throws {
        let chunk = 1 << 20
        let lengths = [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 7, 0, 5, 2 * chunk]
        var file: [UInt8] = []
        var expected: [[UInt8]] = []
        for (i, length) in lengths.enumerated() {
            let line = (0..<length).map { UInt8(ascii: "a") + UInt8(($0 + i) % 26) }
            expected.append(line)
            file += line + [UInt8(ascii: "\n")]
        }
        file += Array("cut short".utf8)
        let path = Harness.temporaryDirectory().appendingPathComponent("lines.ndjson").path
        try Data(file).write(to: URL(fileURLWithPath: path))
        let reader = try Spool.LineReader(path: path)
        defer { reader.close() }
        var read: [[UInt8]] = []
        while let line = try reader.next() { read.append(Array(line)) }
        #expect(read.count == expected.count)
        #expect(read == expected)
        #expect(reader.number == lengths.count)
    }
}
