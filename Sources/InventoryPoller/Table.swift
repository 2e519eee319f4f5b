import AWSCore
import CloudInventory
import Glibc

/// The one writer of rows for `--format text` and `--format csv`, for the poll and every
/// history subcommand alike.
///
/// - text to a terminal: columns aligned with two spaces. Widths come from the header and the
///   first `alignWindow` rows (held back until then), so memory stays bounded however many rows
///   follow; a later, longer cell just pushes its line out.
/// - text otherwise: tab-separated, for `cut` and `awk`.
/// - csv: RFC 4180 (CRLF line ends; a cell with a comma, quote, CR or LF is quoted, quotes doubled).
///
/// Text cells have control characters escaped as on stderr (`ControlCharacters`), so a cell
/// can neither split the line or the columns nor drive the terminal; an empty cell shows `-`.
/// On a terminal a cell longer than `maxCellWidth` characters is cut there with `…`, so one
/// long tag value cannot push every row off the screen; tabs (a pipe) keep every cell whole.
///
/// CSV cells are the data as stored, quoting keeps them in their cell, except that a cell a
/// spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab or CR: OWASP's
/// CSV injection) gets a leading `'`, unless `raw` (`--csv-raw`). Every such cell, a negative
/// number too: EC2's fields are strings, and a spreadsheet shows `'-1` as `-1` text.
struct TableWriter {
    enum Style { case aligned, tabs, csv }

    let style: Style
    /// `--csv-raw`: csv cells exactly as stored, formulas included.
    let raw: Bool
    static let maxCellWidth = 80
    private let header: [String]
    private var held: [[String]] = []
    private var widths: [Int]?
    /// One tab-separated or csv line, reused from row to row.
    private var line: [UInt8] = []

    static let alignWindow = 200

    /// `format` must be `.text` or `.csv`; text aligns when stdout is a terminal.
    init(columns: [String], format: OutputFormat, raw: Bool = false, terminal: Bool = isatty(1) == 1) {
        header = columns
        style = format == .csv ? .csv : (terminal ? .aligned : .tabs)
        self.raw = raw
    }

    mutating func begin(_ out: inout StandardOutput) {
        switch style {
        case .aligned: held.append(header)
        case .tabs, .csv: emit(header, &out)
        }
    }

    mutating func row(_ cells: [String], _ out: inout StandardOutput) {
        if style == .tabs { return emitTabs(cells, &out) }
        let cells = style == .csv ? cells : cells.map(Self.shown)
        guard style == .aligned, widths == nil else { return emit(cells, &out) }
        held.append(cells)
        if held.count > Self.alignWindow { release(&out) }
    }

    /// A text cell as shown: `-` for an empty one, control characters escaped.
    private static func shown(_ cell: String) -> String {
        let escaped = cell.isEmpty ? "-" : isPlain(cell) ? cell : ControlCharacters.escape(cell)
        return escaped.count > maxCellWidth ? escaped.prefix(maxCellWidth - 1) + "…" : escaped
    }

    /// A tab-separated row, each cell as `shown` makes it, with no array of shown cells (the
    /// text path writes one row per instance).
    private mutating func emitTabs(_ cells: [String], _ out: inout StandardOutput) {
        line.removeAll(keepingCapacity: true)
        for (i, cell) in cells.enumerated() {
            if i > 0 { line.append(UInt8(ascii: "\t")) }
            if cell.isEmpty {
                line.append(UInt8(ascii: "-"))
            } else if Self.isPlain(cell) {
                line.append(contentsOf: cell.utf8)
            } else {
                line.append(contentsOf: ControlCharacters.escape(cell).utf8)
            }
        }
        line.append(UInt8(ascii: "\n"))
        out.write(bytes: line[...])
    }

    /// Writes what alignment held back.
    mutating func finish(_ out: inout StandardOutput) {
        if style == .aligned, widths == nil { release(&out) }
    }

    private mutating func release(_ out: inout StandardOutput) {
        var widths = [Int](repeating: 0, count: header.count)
        for row in held { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        self.widths = widths
        for row in held { emit(row, &out) }
        held = []
    }

    private mutating func emit(_ cells: [String], _ out: inout StandardOutput) {
        switch style {
        case .csv:
            line.removeAll(keepingCapacity: true)
            for (i, cell) in cells.enumerated() {
                if i > 0 { line.append(UInt8(ascii: ",")) }
                Self.appendCSVField(raw ? cell : Self.neutralized(cell), to: &line)
            }
            line.append(contentsOf: [13, 10])
            out.write(bytes: line[...])
        case .tabs:
            emitTabs(cells, &out)
        case .aligned:
            let widths = widths ?? []
            var line = ""
            for (i, cell) in cells.enumerated() {
                line += cell
                if i < cells.count - 1 {
                    let width = i < widths.count ? widths[i] : 0
                    line += String(repeating: " ", count: max(width - cell.count, 0) + 2)
                }
            }
            out.write(line + "\n")
        }
    }

    /// Printable ASCII only: nothing for `ControlCharacters` to escape (the common case,
    /// checked without walking Unicode scalars).
    static func isPlain(_ cell: String) -> Bool {
        cell.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// A cell a spreadsheet would evaluate, with a leading `'` so it reads as text.
    static func neutralized(_ cell: String) -> String {
        guard let first = cell.utf8.first, formulaStarts.contains(first) else { return cell }
        return "'" + cell
    }

    static let formulaStarts: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13]

    /// A cell with a comma, quote, CR or LF byte is quoted, its quotes doubled (RFC 4180).
    /// Bytes, not Characters: a comma that a combining mark follows still splits a field for
    /// every CSV reader, so it must be quoted too.
    static func appendCSVField(_ cell: String, to out: inout [UInt8]) {
        let utf8 = cell.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }) else {
            return out.append(contentsOf: utf8)
        }
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            out.append(byte)
            if byte == UInt8(ascii: "\"") { out.append(byte) }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The columns an instance shows in text and csv, for the poll and `instances` alike.
enum InstanceColumns {
    static let names = ["account", "region", "id", "state", "type", "az", "private_ip", "public_ip", "name"]

    /// `account` is the slice's for a poll; a stored document carries its own. The rest is
    /// the same `InstanceRow` the rendered poll captures.
    static func cells(_ instance: JSONValue, account: String? = nil) -> [String] {
        [account ?? instance["Account"]?.stringValue ?? ""] + InstanceRow(instance).cells
    }

    /// Tags flattened: `k=v;k=v`, in stored order.
    static func tags(_ instance: JSONValue) -> String {
        (instance["Tags"]?.arrayValue ?? []).map { "\($0["Key"]?.stringValue ?? "")=\($0["Value"]?.stringValue ?? "")" }.joined(separator: ";")
    }
}
