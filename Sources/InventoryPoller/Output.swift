import AWSCore
import ArgumentParser
import CloudInventory
import Foundation

/// Buffered writes to stdout. Results are the only thing that goes there.
///
/// A failed write (`EPIPE` from `| head`, `ENOSPC` from a full disk) is kept in `failure`, and
/// every later write is dropped: the poll goes on, is stored or spooled, and the command
/// reports the lost output at the end with its own exit status.
struct StandardOutput {
    private var buffer: [UInt8] = []
    private(set) var failure: WriteFailure?

    mutating func write(_ s: String) {
        guard failure == nil else { return }
        buffer.append(contentsOf: s.utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    /// A large pre-rendered block goes out directly, without a copy through the buffer.
    mutating func write(raw bytes: [UInt8]) {
        flush()
        send(bytes)
    }

    /// Bytes into the buffer (a rendered instance, a line's prefix).
    mutating func write(bytes: ArraySlice<UInt8>) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
        if buffer.count > 1 << 16 { flush() }
    }

    /// Serializes straight into the output buffer: no intermediate copy per document.
    mutating func write(json value: JSONValue, newline: Bool = false) {
        guard failure == nil else { return }
        value.write(to: &buffer)
        if newline { buffer.append(UInt8(ascii: "\n")) }
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        send(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func send(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        do {
            try writeAll(fd: 1, bytes: bytes)
        } catch {
            failure = error
        }
    }
}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json, ndjson, csv
}

/// Formats a poll for stdout as it streams in. It never throws: an output failure must not
/// fail slices or stop storage (see `StandardOutput`).
struct FormattingSink: PollSink {
    let format: OutputFormat
    /// `--csv-raw`: csv cells as received (`TableWriter.neutralized` otherwise).
    let csvRaw: Bool
    var out = StandardOutput()
    private var wroteInstance = false
    private var timestamp = ""
    private var table: TableWriter?
    /// Pages released in plan order (`SliceOrder`).
    private var order = SliceOrder()

    init(format: OutputFormat, csvRaw: Bool = false) {
        self.format = format
        self.csvRaw = csvRaw
    }

    /// text and csv: the poll's time, then the instance's columns (`InstanceColumns`). In text
    /// the header's first cell is the time itself, so every line starts with it (`cut -f2-`
    /// and log readers rely on that); csv names the column.
    static func columns(_ format: OutputFormat, timestamp: String) -> [String] {
        [format == .csv ? "polled_at" : timestamp] + InstanceColumns.names
    }

    mutating func begin(_ header: PollHeader) throws {
        order.begin(header.slices)
        timestamp = UTCTime.iso8601(header.polledAt)
        if format == .text || format == .csv { table = TableWriter(columns: Self.columns(format, timestamp: timestamp), format: format, raw: csvRaw) }
        switch format {
        case .text:
            // The poll's own line comes first, so the output still starts with its time.
            let arn = ControlCharacters.escape(header.identity.arn)
            out.write("\(timestamp)\tpoll\taccount=\(header.accounts.joined(separator: ","))\tarn=\(arn)\tregions=\(header.regions.joined(separator: ","))\n")
            table?.begin(&out)
        case .csv:
            table?.begin(&out)
        case .json:
            // Instances stream first; Regions follow once every region has finished.
            out.write("{\"PolledAt\":\(JSONValue.string(timestamp).serialized()),\"Account\":\(JSONValue.string(header.identity.account).serialized()),\"Arn\":\(JSONValue.string(header.identity.arn).serialized()),\"Instances\":[")
        case .ndjson:
            break
        }
        out.flush()
    }

    /// A page without the rows or spans its format prints, from its values.
    private mutating func writeValues(_ page: [JSONValue], slice: SliceID) throws {
        for instance in page {
            switch format {
            case .text, .csv:
                table?.row([timestamp] + InstanceColumns.cells(instance, account: slice.account), &out)
            case .json:
                if wroteInstance { out.write(",") }
                out.write(json: instance)
            case .ndjson:
                guard case let .object(members) = instance else { continue }
                out.write(json: .object([JSONMember("PolledAt", .string(timestamp)), JSONMember("Account", .string(slice.account))] + members), newline: true)
            }
            wroteInstance = true
        }
        out.flush()
    }

    /// Pages arrive rendered from the XML, for every format, and go out in plan order
    /// (`SliceOrder`): JSON is the page's bytes, ndjson
    /// each instance's bytes behind the line's `PolledAt` and `Account`, text and csv the
    /// cells captured while rendering (`InstanceRow`). The same output as the values give, byte
    /// for byte (`FastPathTests`). A page without rows or spans falls back to its values.
    mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        for (page, slice) in order.add(page, slice: slice) { try write(page, slice: slice) }
    }

    private mutating func write(_ page: RenderedPage, slice: SliceID) throws {
        guard page.count > 0 else { return }
        switch format {
        case .json:
            if wroteInstance { out.write(",") }
            out.write(raw: page.json)
        case .text, .csv:
            guard page.rows.count == page.count else { return try writeValues(page.values(), slice: slice) }
            for row in page.rows { table?.row([timestamp, slice.account] + row.cells, &out) }
        case .ndjson:
            guard page.spans.count == page.count else { return try writeValues(page.values(), slice: slice) }
            writeLines(page, account: slice.account)
        }
        wroteInstance = true
        out.flush()
    }

    /// `{"PolledAt":…,"Account":…,` then the instance's members and its closing brace.
    private mutating func writeLines(_ page: RenderedPage, account: String) {
        let prefix = Array("{\"PolledAt\":\(JSONValue.string(timestamp).serialized()),\"Account\":\(JSONValue.string(account).serialized())".utf8)
        for span in page.spans {
            let members = page.json[(span.lowerBound + 1)..<span.upperBound]
            // An instance with no member ("{}") takes no comma after the prefix.
            out.write(bytes: prefix[...])
            if members.count > 1 { out.write(bytes: [UInt8(ascii: ",")][...]) }
            out.write(bytes: members)
            out.write(bytes: [UInt8(ascii: "\n")][...])
        }
    }

    mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {
        for (page, slice) in order.drain() { try write(page, slice: slice) }
        if format == .json {
            out.write("],\"Regions\":")
            out.write(JSONValue.array(outcomes.map(\.json)).serialized())
            out.write("}\n")
        }
        table?.finish(&out)
        out.flush()
    }
}
