import AWSCore
import CloudInventory
import Foundation
import Glibc

/// The run summary (one JSON line on stderr) and the Prometheus textfile metrics.
struct RunReport {
    let started: ContinuousClock.Instant
    var outcomes: [SliceOutcome] = []
    var counts = InstanceCounts()
    var status: ExitStatus = .success
    var duration: Double = 0
    var statistics: RunStatistics.Snapshot?
    /// Spool files the replay set aside this run (`*.rejected`, `*.corrupt`).
    var spoolSetAside = 0
    /// The spool after the run (nil without a database): polls waiting, unreadable ones.
    var spool: Spool.Census?

    init(started: ContinuousClock.Instant) {
        self.started = started
    }

    mutating func record(outcomes: [SliceOutcome], counts: InstanceCounts) {
        self.outcomes = outcomes
        self.counts = counts
    }

    mutating func finish(status: ExitStatus, statistics: RunStatistics.Snapshot) {
        self.status = status
        self.statistics = statistics
        duration = (ContinuousClock.now - started) / .seconds(1)
    }

    var summary: JSONValue {
        let statistics = self.statistics ?? RunStatistics().snapshot
        return .object([
            JSONMember("event", "summary"),
            JSONMember("exitCode", .int(Int64(status.rawValue))),
            JSONMember("durationSeconds", .double((duration * 1000).rounded() / 1000)),
            JSONMember("slices", .int(Int64(outcomes.count))),
            JSONMember("slicesFailed", .int(Int64(outcomes.filter { $0.status == .failed }.count))),
            JSONMember("slicesSkipped", .int(Int64(outcomes.filter { $0.status == .skipped }.count))),
            JSONMember("instances", .object(counts.byState.sorted { $0.key < $1.key }.map { JSONMember($0.key, .int(Int64($0.value))) })),
            JSONMember("requests", .int(Int64(statistics.requests))),
            JSONMember("retries", .int(Int64(statistics.retries))),
            JSONMember("throttles", .int(Int64(statistics.throttles))),
            JSONMember("bytesReceived", .int(Int64(statistics.bytesReceived))),
        ])
    }

    /// One stamped line on stderr: `<UTC time> {"event":"summary",...}` for logs and pipes
    /// (cron, journald, `2> file`); at a terminal, the same facts in words.
    func writeSummary(terminal: Bool = isatty(2) == 1) {
        StandardError.writeLine(terminal ? humanSummary : summary.serialized())
    }

    /// `summary: exit 0 in 2.4s; 3 slices (0 failed); 12 instances (running 9, stopped 3);
    /// 7 requests, 0 retries, 0 throttles`.
    var humanSummary: String {
        let statistics = self.statistics ?? RunStatistics().snapshot
        let failed = outcomes.filter { $0.status == .failed }.count
        let byState = counts.byState.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        let total = counts.byState.values.reduce(0, +)
        return "summary: exit \(status.rawValue) in \(String(format: "%.1f", duration))s; \(outcomes.count) slices (\(failed) failed); "
            + "\(total) instances\(byState.isEmpty ? "" : " (" + byState.joined(separator: ", ") + ")"); "
            + "\(statistics.requests) requests, \(statistics.retries) retries, \(statistics.throttles) throttles"
    }

    /// Written beside the target and renamed over it, so the node exporter never reads half
    /// a file. The last success time survives failed runs: it is read back from the old file.
    func writeMetrics(to path: String) throws {
        let now = Date().timeIntervalSince1970
        var lastSuccess = status == .success ? now : Self.previousLastSuccess(path)
        if lastSuccess == nil, status == .success { lastSuccess = now }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) {
            lines.append("# HELP inventory_poller_\(name) \(help)")
            lines.append("# TYPE inventory_poller_\(name) \(type)")
            for (labels, value) in samples {
                let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                lines.append("inventory_poller_\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(number)")
            }
        }
        if let lastSuccess {
            metric("last_success_timestamp_seconds", "Unix time of the last fully successful poll.", "gauge", [("", lastSuccess.rounded())])
        }
        metric("last_run_timestamp_seconds", "Unix time the last run ended.", "gauge", [("", now.rounded())])
        metric("last_run_exit_code", "Exit code of the last run.", "gauge", [("", Double(status.rawValue))])
        metric("duration_seconds", "Wall time of the last run.", "gauge", [("", (duration * 1000).rounded() / 1000)])
        var instanceSamples: [(String, Double)] = []
        for (slice, states) in counts.bySlice.sorted(by: { $0.key.description < $1.key.description }) {
            for (state, n) in states.sorted(by: { $0.key < $1.key }) {
                instanceSamples.append(("account=\"\(escape(slice.account))\",region=\"\(escape(slice.region))\",state=\"\(escape(state))\"", Double(n)))
            }
        }
        metric("instances", "Instances seen by the last run, by account, region and state.", "gauge", instanceSamples)
        metric("slice_errors", "1 for each (account, region) the last run could not poll completely.", "gauge",
               outcomes.map { ("account=\"\(escape($0.slice.account))\",region=\"\(escape($0.slice.region))\"", $0.status == .failed ? 1 : 0) })
        let statistics = self.statistics ?? RunStatistics().snapshot
        metric("requests", "AWS requests made by the last run.", "gauge", [("", Double(statistics.requests))])
        metric("retries", "AWS request retries in the last run.", "gauge", [("", Double(statistics.retries))])
        metric("throttles", "Throttling responses in the last run.", "gauge", [("", Double(statistics.throttles))])
        metric("spool_set_aside", "Spool files set aside by the last run (rejected by the database or corrupt).", "gauge", [("", Double(spoolSetAside))])
        if let spool {
            metric("spool_waiting", "Spooled polls waiting to be stored after the last run.", "gauge", [("", Double(spool.waiting))])
            metric("spool_unreadable", "Spooled polls the service user cannot read (never stored until their owner is fixed).", "gauge",
                   [("", Double(spool.unreadable.count))])
        }
        try Self.replace(path, with: lines.joined(separator: "\n") + "\n")
    }

    /// Why the metrics file was not written, in one line: the path, the step and the reason.
    struct MetricsError: Error, CustomStringConvertible {
        let description: String
    }

    /// Written beside the target, then renamed over it.
    private static func replace(_ path: String, with text: String) throws(MetricsError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        func failure(_ step: String) -> MetricsError {
            MetricsError(description: "\(path): \(step): \(errnoDescription())")
        }
        let fd = unsafe open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        // Root's run writing into the service's directory leaves a file the service owns.
        if let owner = DirectoryOwner.adopting(file: path) {
            do {
                try owner.apply(to: fd, path: temporary)
            } catch {
                close(fd)
                unsafe unlink(temporary)
                throw MetricsError(description: "\(path): \(error)")
            }
        }
        do {
            try writeAll(fd: fd, bytes: Array(text.utf8))
        } catch {
            close(fd)
            unsafe unlink(temporary)
            throw MetricsError(description: "\(path): cannot write \(temporary): \(error)")
        }
        close(fd)
        guard unsafe rename(temporary, path) == 0 else {
            let error = failure("cannot rename \(temporary) over it")
            unsafe unlink(temporary)
            throw error
        }
    }

    static func previousLastSuccess(_ path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("inventory_poller_last_success_timestamp_seconds ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}
