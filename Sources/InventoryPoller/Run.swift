#if canImport(Glibc)
import Glibc
#endif
import CloudInventory
import Foundation
import Logging

/// Everything a run shares: environment, logger, HTTP, IMDS, the run context, signals.
struct RunEnvironment {
    let environment: Environment
    let logger: Logger
    let http: HTTPClient
    let imds: IMDSClient
    let run: RunContext
    let signals: SignalWatcher
}

extension InventoryPollerCommand {
    /// Runs the poll (or `--check`) and maps each failure to its documented exit status,
    /// with one line on stderr.
    func execute() -> ExitStatus {
        let started = ContinuousClock.now
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "inventory-poller")
        let environment = Environment.process
        let run = RunContext()
        let signals = SignalWatcher(cancellation: run.cancellation, logger: logger)
        let http = HTTPClient(logger: logger, cancellation: run.cancellation)
        defer { http.close() }
        let context = RunEnvironment(environment: environment, logger: logger, http: http,
                                     imds: IMDSClient(configuration: .init(environment: environment), http: http, logger: logger),
                                     run: run, signals: signals)
        if check { return runCheck(context) }

        let lock = RunLock(path: lockFile ?? RunLock.defaultPath(environment: environment))
        do {
            try lock.acquire(wait: lockWait)
        } catch {
            Self.writeError("\(error)")
            return error is RunLock.Busy ? .locked : .usage
        }
        defer { lock.release() }

        var report = RunReport(started: started)
        let status = poll(context, report: &report)
        report.finish(status: status, statistics: run.statistics.snapshot)
        if status != .usage { report.writeSummary() }
        if let metricsFile {
            do {
                try report.writeMetrics(to: metricsFile)
            } catch {
                logger.error("metrics file not written", metadata: ["path": "\(metricsFile)", "error": "\(error)"])
            }
        }
        return status
    }

    /// The poll proper.
    private func poll(_ context: RunEnvironment, report: inout RunReport) -> ExitStatus {
        let logger = context.logger
        let environment = context.environment
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
        let credentials = CredentialChain.standard(environment: environment, imds: context.imds)
        do {
            guard let creds = try credentials.credentials() else { throw CredentialError("no credentials") }
            logger.info("credentials", metadata: ["source": "\(creds.source)"])
        } catch {
            Self.writeError("credentials unavailable: \(error)")
            return .credentials
        }
        if regions.isEmpty {
            do {
                regions = try RegionResolver.resolve(explicit: region, environment: environment, imds: context.imds)
            } catch {
                Self.writeError(error.description)
                return .usage
            }
        }

        let database: Database?
        switch Database.open(environment: environment, logger: logger) {
        case let .failure(error):
            Self.writeError(error.description)
            return .usage
        case let .success(db):
            database = db
        }
        defer { database?.close() }
        if database == nil {
            logger.warning("CM_DB_URI and CM_DB_NAME are not set: the poll is printed but not stored")
        }

        var configuration = Poller.Configuration(regions: regions, retry: RetryPolicy(maxAttempts: maxAttempts), pageSize: pageSize)
        configuration.allRegions = allRegions
        configuration.assumeRoles = assumeRole
        configuration.externalId = externalId
        configuration.concurrency = concurrency
        configuration.renderJSON = OutputFormat(rawValue: format) == .json && database == nil
        let poller = Poller(configuration: configuration, credentials: credentials, environment: environment, logger: logger, run: context.run)
        var sink = TeeSink(TeeSink(FormattingSink(format: OutputFormat(rawValue: format)!), CountingSink()),
                           database?.prepareRecorder(cancellation: context.run.cancellation) ?? PollRecorder?.none)
        do {
            let outcomes = try poller.run(into: &sink, http: context.http)
            report.record(outcomes: outcomes, counts: sink.first.second.counts)
            report.spoolSetAside = sink.second?.spoolSetAside ?? 0
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
            if let signal = context.signals.received {
                Self.writeError("stopped by signal \(signal); complete slices were stored or spooled")
                return signal == SIGINT ? .interrupted : .terminated
            }
            return status
        } catch let error as AWSError where error.isCredentialFailure {
            Self.writeError("credentials unavailable: \(error)")
            return .credentials
        } catch let error as CredentialError {
            Self.writeError("\(error)")
            return .usage
        } catch {
            Self.writeError("\(error)")
            if let signal = context.signals.received { return signal == SIGINT ? .interrupted : .terminated }
            return .aws
        }
    }
}

/// Counts instances as they stream past, for the summary line and the metrics file.
struct CountingSink: PollSink {
    var counts = InstanceCounts()
    mutating func begin(_ header: PollHeader) throws {}
    mutating func instances(_ page: [JSONValue], slice: SliceID) throws { counts.add(page, slice: slice) }
    mutating func rendered(_ page: RenderedPage, slice: SliceID) throws { counts.add(states: page.states, slice: slice) }
    mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {}
}

/// SIGTERM and SIGINT stop the run gracefully: no new requests, in-flight transfers
/// abandoned, complete slices stored or spooled, then a non-zero exit.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var signal: Int32?

    init(cancellation: CancellationFlag, logger: Logger) {
        for sig in [SIGTERM, SIGINT] {
            Glibc.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if self.signal == nil { self.signal = sig }
                self.lock.unlock()
                logger.warning("signal received: finishing what is complete", metadata: ["signal": "\(sig)"])
                cancellation.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }
}
