import AWSCore
import CloudInventory
import Foundation
import Glibc
import Logging

/// Everything a run shares: environment, logger, HTTP, IMDS, the run context, signals.
struct RunEnvironment {
    let environment: Environment
    /// The AWS SDKs' configuration of the run: profile, settings and their sources.
    let configuration: AWSConfiguration
    let logger: Logger
    let http: HTTPClient
    let imds: IMDSClient
    let run: RunContext
    let signals: SignalWatcher

    /// The end of a failed step: one `inventory-poller:` line and the status from the one
    /// error table. A run that was stopped by a signal says so and exits 130 or 143,
    /// whatever the stop made the step fail with.
    func fail(_ error: any Error, _ message: String? = nil) -> ExitStatus {
        if let signal = signals.received { return stopped(by: signal) }
        StandardError.writeFailure(message ?? "\(error)")
        return ExitStatus(for: error)
    }

    func stopped(by signal: Int32) -> ExitStatus {
        StandardError.writeFailure("stopped by \(ExitStatus.name(of: signal)); what was complete was stored or spooled")
        return ExitStatus(signal: signal)
    }
}

extension InventoryPollerCommand {
    /// Runs the poll (or `--check`) and maps each failure to its documented exit status,
    /// with one line on stderr.
    func execute() -> ExitStatus {
        let started = ContinuousClock.now
        let level = logLevel.level
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: level) }
        let logger = Logger(label: "inventory-poller")
        let environment = Environment.process
        let run = RunContext()
        let signals = SignalWatcher(cancellation: run.cancellation, logger: logger)
        let configuration: AWSConfiguration
        do {
            configuration = try resolveConfiguration(environment: environment, logger: logger)
        } catch {
            StandardError.writeFailure(error.description)
            return ExitStatus(for: error)
        }
        let http = HTTPClient(configuration: configuration.httpConfiguration, logger: logger, run: run)
        defer { http.close() }
        let context = RunEnvironment(environment: environment, configuration: configuration, logger: logger, http: http,
                                     imds: IMDSClient(configuration: configuration.imdsConfiguration, http: http, logger: logger),
                                     run: run, signals: signals)
        do { try http.configuration.validate() } catch { return context.fail(UsageError("\(error)")) }
        if check { return runCheck(context) }

        let lock = RunLock(path: lockFile ?? RunLock.defaultPath(environment: environment))
        do {
            try lock.acquire(wait: lockWait, cancellation: run.cancellation)
        } catch {
            return context.fail(error)
        }
        defer { lock.release() }

        var report = RunReport(started: started)
        let progress = ProgressLine.start(statistics: run.statistics, since: started, environment: environment)
        let status = poll(context, report: &report)
        progress?.stop()
        report.finish(status: status, statistics: run.statistics.snapshot)
        if status != .usage { report.writeSummary() }
        if let metricsFile {
            do {
                try report.writeMetrics(to: metricsFile)
            } catch {
                logger.error("metrics file not written: \(error)")
            }
        }
        return status
    }

    /// The poll proper, step by step.
    private func poll(_ context: RunEnvironment, report: inout RunReport) -> ExitStatus {
        let credentials: CredentialChain
        let regions: [String]
        let database: Database?
        do {
            // `--once-per` is checked first: without a database to claim slices in, the run
            // is the operator's to fix (exit 2), before credentials or the network are tried.
            if schedule.oncePer != nil, try noStore || Database.settings(environment: context.environment) == nil {
                throw UsageError("--once-per shares the schedule through the database: set CM_DB_URI and CM_DB_NAME (and not --no-store)")
            }
            credentials = try credentialChain(context)
            // A region known without IMDS has its endpoints checked first (exit 2 for a variant
            // its partition lacks), as botocore builds its client before it fetches credentials.
            if let known = try RegionResolver.explicit(region).first ?? context.configuration.region?.value {
                _ = try plannedEndpoints(context.configuration, region: known)
            }
            // Credentials before asking IMDS for the region: when IMDS is down, its own message
            // (hop limit, no role) is the one to show, not a consequential "no region".
            let summary = try checkCredentials(credentials, context)
            let resolved = try RegionResolver.resolve(explicit: region, configuration: context.configuration, imds: context.imds)
            regions = resolved.regions
            let endpoints = try plannedEndpoints(context.configuration, region: regions[0])
            // One line says what was resolved: profile, credentials, region's source, endpoints.
            var metadata = Self.describe(context.configuration, regionSource: resolved.source, endpoints: endpoints)
            metadata["credentials"] = "\(summary)"
            metadata["regions"] = "\(regions.joined(separator: ","))"
            context.logger.info("configuration", metadata: metadata)
            database = try openDatabase(context)
        } catch {
            return context.fail(error)
        }
        defer { database?.close() }

        let poller = Poller(configuration: pollerConfiguration(regions: regions, storing: database != nil, aws: context.configuration),
                            credentials: credentials, environment: context.environment, logger: context.logger, run: context.run)
        var sink = TeeSink(TeeSink(FormattingSink(format: format, csvRaw: csvRaw), CountingSink()),
                           database?.prepareRecorder(cancellation: context.run.cancellation, claimWindow: schedule.configuration)
                               ?? PollRecorder?.none)
        let outcomes: [SliceOutcome]
        defer { sink.second?.abandon() }
        do {
            outcomes = try poller.run(into: &sink, http: context.http)
        } catch let error as AWSError where error.isCredentialFailure {
            return context.fail(error, "credentials unavailable: \(error)")
        } catch {
            return context.fail(error)
        }
        report.record(outcomes: outcomes, counts: sink.first.second.counts)
        report.spoolSetAside = sink.second?.spoolSetAside ?? 0
        report.spool = database?.spool.census()
        let nowhere = poller.instanceIdsFoundNowhere(outcomes)
        if !nowhere.isEmpty {
            // A lookup, not a failure: exit 0 (docs/configuration.md, exit codes), one line naming the ids.
            StandardError.writeFailure("not found in any region polled: \(nowhere.joined(separator: ", "))")
        }
        return conclude(outcomes: outcomes, output: sink.first.first.out.failure, recorder: sink.second, database: database,
                        spool: report.spool, context)
    }

    /// The credentials' summary (source, key hint, expiry) for the run's first info line.
    private func checkCredentials(_ credentials: any CredentialProvider, _ context: RunEnvironment) throws(CredentialsUnavailable) -> String {
        do {
            return try credentials.required().summary
        } catch {
            throw CredentialsUnavailable(underlying: error)
        }
    }

    /// nil without `CM_DB_URI`/`CM_DB_NAME` (with a warning); a usage error when they are wrong.
    private func openDatabase(_ context: RunEnvironment) throws(UsageError) -> Database? {
        // `--no-store`: printed only; the settings are not even read, the spool not touched.
        if noStore { return nil }
        let database = try Database(environment: context.environment, logger: context.logger)
        if database == nil {
            context.logger.warning("CM_DB_URI and CM_DB_NAME are not set: the poll is printed but not stored")
        }
        return database
    }

    /// The poll's configuration from the flags, for a poll and for `--check` alike.
    func pollerConfiguration(regions: [String], storing: Bool, aws: AWSConfiguration) -> Poller.Configuration {
        var configuration = Poller.Configuration(regions: regions, retry: aws.retryPolicy, pageSize: pageSize)
        configuration.aws = aws
        configuration.allRegions = allRegions
        configuration.assumeRoles = assumeRole
        configuration.externalId = externalId
        configuration.organization = organization.configuration
        configuration.concurrency = concurrency
        configuration.maxResponseBytes = maxResponseMib << 20
        configuration.selection = selectionOptions.selection
        // Text and csv print only the rows; without storage nothing needs the JSON. Storage
        // takes the JSON and the content hashes.
        configuration.pageContents = format == .text || format == .csv ? [.rows] : [.json]
        if storing { configuration.pageContents.formUnion([.json, .hashes]) }
        return configuration
    }

    /// One line per problem, and the status: a signal first, then the database (5), lost
    /// output (74) and failed slices (4).
    private func conclude(outcomes: [SliceOutcome], output: WriteFailure?, recorder: PollRecorder?, database: Database?,
                          spool: Spool.Census?, _ context: RunEnvironment) -> ExitStatus {
        var status = ExitStatus.success
        let failed = outcomes.filter { $0.status == .failed }
        if !failed.isEmpty {
            StandardError.writeFailure("\(failed.count) of \(outcomes.count) slices failed: "
                + failed.map { "\($0.slice): \($0.errorCode ?? "error")" }.joined(separator: ", "))
            status = .aws
        }
        if let output {
            StandardError.writeFailure("stdout could not be written (\(output)): output stopped there, the poll went on"
                + (database == nil ? "" : " and was stored or spooled"))
            status = .output
        }
        if let recorder, let database, let error = recorder.databaseError {
            let whereTo = recorder.spooledTo.map { "poll spooled to \($0.path)" } ?? "poll NOT spooled: \(recorder.spoolError ?? "spool unavailable")"
            StandardError.writeFailure("\(error) (\(database.uri.redacted)); \(whereTo)")
            status = .database
        }
        if let unreadable = Database.unreadableSpool(spool) {
            StandardError.writeFailure(unreadable)
            status = .database
        }
        if let signal = context.signals.received { return context.stopped(by: signal) }
        return status
    }
}

extension CredentialProvider {
    /// The credentials, or a `CredentialError`: a chain throws when it finds none, and a
    /// provider that answers nil anyway is "unavailable" too.
    func required() throws -> Credentials {
        guard let credentials = try credentials() else { throw CredentialError.unavailable("no credentials found") }
        return credentials
    }
}

/// Counts instances as they stream past, for the summary line and the metrics file.
struct CountingSink: PollSink {
    var counts = InstanceCounts()
    mutating func begin(_ header: PollHeader) throws {}
    mutating func rendered(_ page: RenderedPage, slice: SliceID) throws { counts.add(states: page.states, slice: slice) }
    mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {}
}
