@_spi(Bytes) import AWSCore
import CloudInventory
import Foundation
import Logging
import Testing

/// Issue 10's oracle: botocore and the poller resolve the same generated configurations (shared
/// files, environment, profiles of every kind, broken ones) and must agree on every case.
///
/// `Tests/Support/chain_oracle.py` generates the cases (seeded: `CONFIG_ORACLE_SEED`, default 10;
/// `CONFIG_ORACLE_CASES`, default 300), lets botocore answer each one for real through the
/// recording proxy (moto behind it for STS, the strict IMDS, the container endpoint, the SSO
/// portal), then judges the poller's runs: per request the host, the credential scope's region
/// and service, and the signing key traced back to its source; where botocore raises, exit 3
/// (2 for a malformed setting) and no DescribeInstances. The only encoded differences from
/// botocore are the two the issue's table names (AWS_REGION first; the region from IMDS last).
/// A failure lists every disagreement, not the first; the whole table is also written to a
/// file named in the failure.
@Suite(.serialized) struct ConfigOracleTests {
    struct Case: Sendable {
        let id: String
        let title: String
        let arguments: [String]
        let environment: [String: String]
    }

    @Test func thePollerResolvesWhatBotocoreResolves() async throws {
        let settings = ProcessInfo.processInfo.environment
        let oracle = try await PythonServer.start("chain_oracle.py", ["--count", settings["CONFIG_ORACLE_CASES"] ?? "300",
                                                                       "--seed", settings["CONFIG_ORACLE_SEED"] ?? "10"],
                                                  timeout: 900, output: FileHandle.standardError)
        defer { oracle.stop() }
        let doc = try oracle.document()
        guard let casesPath = doc["cases"] as? String, let control = doc["control"] as? String else {
            throw HarnessError("chain_oracle.py announced \(oracle.announcement)")
        }
        let cases = try Self.load(casesPath)
        #expect(cases.count >= 300 || settings["CONFIG_ORACLE_CASES"] != nil)
        let results = try await Self.runAll(cases)
        let verdict = try Self.judge(control, results)
        let mismatches = verdict["mismatches"] as? [[String: Any]] ?? []
        #expect(verdict["total"] as? Int == cases.count)
        if !mismatches.isEmpty {
            let table = Self.table(mismatches)
            let file = Harness.temporaryDirectory().appendingPathComponent("config-oracle-mismatches.txt")
            try Data(table.utf8).write(to: file)
            let head = table.split(separator: "\n", omittingEmptySubsequences: false).prefix(400).joined(separator: "\n")
            Issue.record("\(mismatches.count) of \(cases.count) cases disagree with botocore (whole table: \(file.path)):\n\(head)")
        }
    }

    static func load(_ path: String) throws -> [Case] {
        guard let list = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [[String: Any]] else {
            throw HarnessError("\(path) is not a list of cases")
        }
        return list.map {
            Case(id: $0["id"] as? String ?? "?", title: $0["title"] as? String ?? "", arguments: $0["args"] as? [String] ?? [],
                 environment: $0["env"] as? [String: String] ?? [:])
        }
    }

    /// Every case's poller run, four at a time, on plain threads (each run blocks its thread).
    static func runAll(_ cases: [Case]) async throws -> [String: [String: Any]] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let queue = OperationQueue()
                queue.maxConcurrentOperationCount = 4
                final class Results: @unchecked Sendable {
                    let lock = NSLock()
                    var byId: [String: [String: Any]] = [:]
                    var failure: Error?
                }
                let results = Results()
                for c in cases {
                    queue.addOperation {
                        let env = Harness.baseEnvironment().merging(c.environment) { $1 }
                        let args = World.withLock(c.arguments + ["--format", "json"])
                        do {
                            let r = try runProcess(Harness.pollerBinary, args, environment: env, timeout: 120)
                            results.lock.withLock { results.byId[c.id] = ["status": Int(r.status), "stdout": String(r.stdout.prefix(4000)),
                                                                           "stderr": String(r.stderr.suffix(4000))] }
                        } catch {
                            results.lock.withLock { results.failure = error }
                        }
                    }
                }
                queue.waitUntilAllOperationsAreFinished()
                if let failure = results.failure {
                    continuation.resume(throwing: failure)
                } else {
                    continuation.resume(returning: results.byId)
                }
            }
        }
    }

    static func judge(_ control: String, _ results: [String: [String: Any]]) throws -> [String: Any] {
        let http = HTTPClient(logger: Logger(label: "test-config-oracle"))
        defer { http.close() }
        let body = try JSONSerialization.data(withJSONObject: ["results": results])
        let response = try http.execute(HTTPRequest(method: "POST", url: control + "/judge", headers: [("Content-Type", "application/json")],
                                                    body: Array(body), timeout: .seconds(120), bypassProxy: true))
        guard response.status == 200, let verdict = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw HarnessError("config oracle /judge: HTTP \(response.status)")
        }
        return verdict
    }

    /// One block per disagreeing case: what botocore said, what the poller did, every difference.
    static func table(_ mismatches: [[String: Any]]) -> String {
        var out = "case | botocore | poller exit | poller's last error line\n"
        for m in mismatches {
            out += "\(m["id"] as? String ?? "?") | \(m["botocore"] as? String ?? "") | \(m["poller_exit"] as? Int ?? -1) | \(m["poller_said"] as? String ?? "")\n"
            out += "    config: \(m["title"] as? String ?? "")\n"
            for d in m["differences"] as? [String] ?? [] {
                out += "    - \(d)\n"
            }
        }
        return out
    }
}
