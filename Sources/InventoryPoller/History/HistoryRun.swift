import AWSCore
import CloudInventory
import Foundation
import Logging

/// What every history subcommand does around its query: read `CM_DB_URI`/`CM_DB_NAME`, open
/// a client, run the query into stdout, close, and map a failure to the one exit table with
/// one line on stderr: 2 without the settings, 5 when the database cannot be read, 74 when
/// stdout cannot be written, 129/130/143 when a signal stopped it (`HistoryStop`).
enum HistoryRun {
    /// `body` runs the query and returns how many documents it printed. `times` are the WHENs
    /// that say where the answer starts (`--since`, `--as-of`): one before the first poll or in
    /// the future gets a warning first (`TimeWarning`).
    static func run(_ options: HistoryOptions, times: [(String, Date)] = [],
                    _ body: (HistoryQuery, inout StandardOutput) throws -> Int) -> ExitStatus {
        let format = options.format
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: .warning) }
        let logger = Logger(label: "inventory-poller")
        // Before the client exists: from here on a signal ends the run with its line.
        let stop = HistoryStop(logger: logger)
        let client: MongoClient
        let name: String
        do {
            guard let (uri, database) = try Database.settings(environment: .process) else {
                throw UsageError("CM_DB_URI and CM_DB_NAME must be set: the history is read from the database")
            }
            client = try Database.client(uri, logger: logger)
            name = database
        } catch {
            return stop.finish(error)
        }
        defer { client.close() }
        var out = StandardOutput()
        let reader = HistoryReader(client: client, database: name)
        let printed: Int
        do {
            try TimeWarning.check(times, reader: reader, now: Date(), logger: logger)
            let query = HistoryQuery(reader: reader, format: format, csvRaw: options.csvRaw, cancellation: stop.cancellation)
            printed = try body(query, &out)
            if printed == 0 { try warnWithoutPolls(reader, logger: logger) }
        } catch {
            out.flush()
            return stop.finish(error)
        }
        out.flush()
        return stop.finish(out.failure)
    }

    /// An empty answer from a database that holds no poll at all is most likely the wrong
    /// `CM_DB_NAME` (MongoDB creates a database on first use, so any name answers).
    private static func warnWithoutPolls(_ reader: HistoryReader, logger: Logger) throws {
        var polls = 0
        try reader.client.stream(reader.database, InventoryStore.polls, filter: .document([]),
                                 projection: .document([("_id", 1)]), limit: 1) { _ in polls += 1 }
        if polls == 0 {
            logger.warning("database \(ControlCharacters.escape(reader.database)) holds no polls: is CM_DB_NAME right?")
        }
    }
}

/// What a subcommand's query gets: the reader, and its output in the chosen format.
struct HistoryQuery {
    let reader: HistoryReader
    let format: OutputFormat
    let csvRaw: Bool
    let cancellation: CancellationFlag

    func output(_ columns: [String], format: OutputFormat? = nil) -> DocumentOutput {
        DocumentOutput(format: format ?? self.format, columns: columns, csvRaw: csvRaw, cancellation: cancellation)
    }
}

/// Stored documents to stdout in the chosen format: ndjson one per line, json one array, text
/// and csv one `TableWriter` row each (`cells` flattens a document to the columns).
///
/// Nothing is written before the first document or `end()`, that is before the database has
/// answered: a query that fails prints nothing (no lone `[`, no header row) and exits 5.
struct DocumentOutput {
    let format: OutputFormat
    private let cancellation: CancellationFlag?
    private var table: TableWriter?
    private(set) var count = 0
    private var begun = false

    init(format: OutputFormat, columns: [String], csvRaw: Bool = false, cancellation: CancellationFlag? = nil) {
        self.format = format
        self.cancellation = cancellation
        if format == .text || format == .csv { table = TableWriter(columns: columns, format: format, raw: csvRaw) }
    }

    private mutating func begin(_ out: inout StandardOutput) {
        guard !begun else { return }
        begun = true
        if format == .json { out.write("[") }
        table?.begin(&out)
    }

    /// `document` as stored, dates as ISO 8601 UTC strings (`BSONValue.json`). Throws once stdout
    /// has failed (`| head` closed it): the rest of the cursor is not worth reading; and once
    /// a signal came (`HistoryStop`): the cursor is left at this document.
    mutating func write(_ document: BSONValue, cells: (BSONValue) -> [[String]], _ out: inout StandardOutput) throws {
        if cancellation?.isCancelled == true { throw HistoryStop.Stopped() }
        begin(&out)
        switch format {
        case .ndjson: out.write(json: document.json, newline: true)
        case .json:
            if count > 0 { out.write(",") }
            out.write(json: document.json)
        case .text, .csv:
            for row in cells(document) { table?.row(row, &out) }
        }
        count += 1
        if let failure = out.failure { throw failure }
    }

    /// The end of the answer: `[]` or the header row alone when there was no document.
    mutating func end(_ out: inout StandardOutput) {
        begin(&out)
        if format == .json { out.write("]\n") }
        table?.finish(&out)
    }
}
