import ArgumentParser
import CloudInventory
import Foundation
import Logging

@main
struct InventoryPollerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory-poller",
        abstract: "Record the AWS account's EC2 inventory: who am I (STS), then every instance in the chosen regions.",
        discussion: """
        Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN when set, \
        else the instance role from IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the \
        endpoint, AWS_EC2_METADATA_DISABLED=true turns it off).
        Regions: --region, else AWS_REGION, else AWS_DEFAULT_REGION, else the instance's own region.
        Endpoints: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL override the defaults.
        Database: CM_DB_URI and CM_DB_NAME; without them the poll is only printed (with a warning).
        Results go to stdout; logs go to stderr.

        Exit codes:
        \(ExitStatus.table)
        """,
        version: InventoryVersion.current
    )

    @Option(name: .long, help: ArgumentHelp("Region to poll; repeat or comma-separate for several.", valueName: "region"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Output format: text, json or ndjson.", valueName: "format"))
    var format: String = "text"

    @Option(name: .long, help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "notice"

    @Option(name: .long, help: ArgumentHelp("Attempts per AWS request, retries included.", valueName: "n"))
    var maxAttempts: Int = 3

    @Option(name: .long, help: ArgumentHelp("DescribeInstances page size, 5 to 1000.", valueName: "n"))
    var pageSize: Int = 1000

    mutating func validate() throws {
        guard (5...1000).contains(pageSize) else {
            throw ValidationError("--page-size must be between 5 and 1000")
        }
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of text, json, ndjson (got \"\(format)\")")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got \"\(logLevel)\")")
        }
        guard (1...10).contains(maxAttempts) else {
            throw ValidationError("--max-attempts must be between 1 and 10")
        }
    }

    static func main() {
        _ = HTTPClient.globalInitialization  // before any thread exists
        let status: ExitStatus
        do {
            var command = try parseAsRoot()
            if let poller = command as? InventoryPollerCommand {
                status = poller.execute()
            } else {
                try command.run()
                status = .success
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
            writeError(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        Foundation.exit(status.rawValue)
    }

    static func writeError(_ line: String) {
        FileHandle.standardError.write(Data("inventory-poller: \(line)\n".utf8))
    }

    /// Runs the poll and maps each failure to its documented exit status with one line on stderr.
    func execute() -> ExitStatus {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "inventory-poller")
        let environment = Environment.process
        let http = HTTPClient(logger: logger)
        defer { http.close() }
        let imds = IMDSClient(configuration: .init(environment: environment), http: http, logger: logger)

        // A region given but malformed is a usage error before anything touches the network.
        var regions: [String] = []
        do {
            regions = try RegionResolver.resolve(explicit: region, environment: environment, imds: nil)
        } catch where !error.missing {
            Self.writeError(error.description)
            return .usage
        } catch {}

        // Credentials before asking IMDS for the region: when IMDS is down, its own message
        // (hop limit, no role) is the one to show, not a consequential "no region".
        let credentials = CredentialChain.standard(environment: environment, imds: imds)
        do {
            guard let creds = try credentials.credentials() else { throw CredentialError("no credentials") }
            logger.info("credentials", metadata: ["source": "\(creds.source)"])
        } catch {
            Self.writeError("credentials unavailable: \(error)")
            return .credentials
        }

        if regions.isEmpty {
            do {
                regions = try RegionResolver.resolve(explicit: region, environment: environment, imds: imds)
            } catch {
                Self.writeError(error.description)
                return .usage
            }
        }

        let database: Database?
        switch Database.open(environment: environment, logger: logger) {
        case let .failure(message):
            Self.writeError(message)
            return .usage
        case let .success(db):
            database = db
        }
        defer { database?.close() }
        if database == nil {
            logger.warning("CM_DB_URI and CM_DB_NAME are not set: the poll is printed but not stored")
        }

        let poller = Poller(
            configuration: .init(regions: regions, retry: RetryPolicy(maxAttempts: maxAttempts), pageSize: pageSize),
            credentials: credentials, environment: environment, logger: logger)
        var sink = TeeSink(FormattingSink(format: OutputFormat(rawValue: format)!), database?.prepareRecorder() ?? PollRecorder?.none)
        do {
            let outcomes = try poller.run(into: &sink, http: http)
            var status = ExitStatus.success
            let failed = outcomes.filter { $0.status == .failed }
            if !failed.isEmpty {
                Self.writeError("\(failed.count) of \(outcomes.count) slices failed: " + failed.map { "\($0.slice): \($0.errorCode ?? "error")" }.joined(separator: ", "))
                status = .aws
            }
            if let recorder = sink.second, let database, let error = recorder.databaseError {
                let whereTo = recorder.spooledTo.map { "poll spooled to \($0.path)" } ?? "poll NOT spooled: \(recorder.spoolError ?? "spool unavailable")"
                Self.writeError("\(error) (\(database.uri.redacted)); \(whereTo)")
                status = .database
            }
            return status
        } catch let error as AWSError where error.isCredentialFailure {
            Self.writeError("credentials unavailable: \(error)")
            return .credentials
        } catch {
            Self.writeError("\(error)")
            return .aws
        }
    }
}
