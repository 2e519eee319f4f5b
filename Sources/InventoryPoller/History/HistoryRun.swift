import CloudInventory
import Foundation
import Logging

/// What every history subcommand does around its query: read `CM_DB_URI`/`CM_DB_NAME`, open
/// a client, run the query into stdout, close, and map a failure to the one exit table with
/// one line on stderr: 2 without the settings, 5 when the database cannot be read, 74 when
/// stdout cannot be written.
enum HistoryRun {
    static func run(_ body: (HistoryReader, inout StandardOutput) throws -> Void) -> ExitStatus {
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: .warning) }
        let logger = Logger(label: "inventory-poller")
        let client: MongoClient
        let name: String
        do {
            guard let (uri, database) = try Database.settings(environment: .process) else {
                throw UsageError("CM_DB_URI and CM_DB_NAME must be set: the history is read from the database")
            }
            client = try Database.client(uri, logger: logger)
            name = database
        } catch {
            return fail(error)
        }
        defer { client.close() }
        var out = StandardOutput()
        do {
            try body(HistoryReader(client: client, database: name), &out)
        } catch {
            out.flush()
            return fail(error)
        }
        out.flush()
        if let failure = out.failure { return fail(failure) }
        return .success
    }

    private static func fail(_ error: any Error) -> ExitStatus {
        StandardError.writeFailure("\(error)")
        return ExitStatus(for: error)
    }
}

/// Stored documents to stdout in the chosen format: ndjson one per line, json one array, text
/// and csv one `TableWriter` row each (`cells` flattens a document to the columns).
struct DocumentOutput {
    let format: OutputFormat
    private var table: TableWriter?
    private var count = 0

    init(format: OutputFormat, columns: [String]) {
        self.format = format
        if format == .text || format == .csv { table = TableWriter(columns: columns, format: format) }
    }

    mutating func begin(_ out: inout StandardOutput) {
        if format == .json { out.write("[") }
        table?.begin(&out)
    }

    /// `document` as stored, dates as ISO 8601 UTC strings (`BSONValue.json`). Throws once stdout
    /// has failed (`| head` closed it): the rest of the cursor is not worth reading.
    mutating func write(_ document: JSONValue, cells: (JSONValue) -> [[String]], _ out: inout StandardOutput) throws {
        switch format {
        case .ndjson: out.write(json: document, newline: true)
        case .json:
            if count > 0 { out.write(",") }
            out.write(json: document)
        case .text, .csv:
            for row in cells(document) { table?.row(row, &out) }
        }
        count += 1
        if let failure = out.failure { throw failure }
    }

    mutating func end(_ out: inout StandardOutput) {
        if format == .json { out.write("]\n") }
        table?.finish(&out)
    }
}
