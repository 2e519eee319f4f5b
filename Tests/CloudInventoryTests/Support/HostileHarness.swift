import AWSCore
import CloudInventory
import Foundation
import Logging

/// `Tests/Support/hostile_server.py` for one test: IMDS, STS and EC2 on one loopback port,
/// each action misbehaving in the mode the test sets. It stops when this object goes away.
final class HostileServer: @unchecked Sendable {
    let url: String
    private let server: PythonServer

    /// `modes`: action (`DescribeInstances`, `GetCallerIdentity`, ..., `imds`) to mode.
    init(modes: [String: String] = [:], skew: Int = 0, skewCode: String = "RequestTimeTooSkewed") throws {
        let modesJSON = String(decoding: try JSONSerialization.data(withJSONObject: modes), as: UTF8.self)
        server = try PythonServer("hostile_server.py", ["--modes", modesJSON, "--skew", String(skew), "--skew-code", skewCode])
        url = "http://127.0.0.1:\(try server.port)"
    }

    /// The poller's environment: STS, EC2 and IMDS all here, with environment keys unless
    /// `imds` asks for the instance-role path.
    func environment(imds: Bool = false) -> [String: String] {
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL_EC2"] = url
        env["AWS_ENDPOINT_URL_STS"] = url
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url
        if !imds {
            env["AWS_ACCESS_KEY_ID"] = "AKIDHOSTILETEST00001"
            env["AWS_SECRET_ACCESS_KEY"] = "hostile/secret/key/for/tests/only/000001"
        }
        return env
    }

    /// The environment of a poll that stores into `mongo`, spooling under `spool`.
    func storingEnvironment(_ mongo: TestMongo, spool: URL) -> [String: String] {
        var env = environment()
        env["CM_DB_URI"] = mongo.uri
        env["CM_DB_NAME"] = mongo.database
        env["CM_SPOOL_DIR"] = spool.path
        return env
    }

    /// Runs the poller against this server (a lock file of its own, a bounded wait).
    func poll(_ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 120) throws -> ProcessResult {
        try runProcess(Harness.pollerBinary, World.withLock(arguments), environment: environment ?? self.environment(), timeout: timeout)
    }

    func setModes(_ modes: [String: String]) throws {
        _ = try control("POST", "/_control", ["modes": modes])
    }

    func set(_ changes: [String: Any]) throws {
        _ = try control("POST", "/_control", changes)
    }

    /// `[{"action", "mode", "status", "token"}]` for every STS, EC2 and IMDS request, in order.
    func requests() throws -> [[String: Any]] {
        (try control("GET", "/_control/requests", nil) as? [[String: Any]] ?? []).filter { ($0["action"] as? String ?? "") != "" }
    }

    func requests(_ action: String) throws -> [[String: Any]] {
        try requests().filter { $0["action"] as? String == action }
    }

    private func control(_ method: String, _ path: String, _ body: [String: Any]?) throws -> Any {
        let http = HTTPClient(logger: Logger(label: "test-hostile"))
        defer { http.close() }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try http.execute(HTTPRequest(method: method, url: url + path, headers: [("Content-Type", "application/json")], body: Array(data)))
        guard response.status == 200 else { throw HarnessError("hostile control \(method) \(path): HTTP \(response.status)") }
        return try JSONSerialization.jsonObject(with: Data(response.body))
    }
}

extension ProcessResult {
    /// The run's final `inventory-poller:` line: one that starts so, or after a single
    /// timestamp token (log lines have a timestamp and a level before the label).
    var finalLine: String? {
        stderr.split(separator: "\n").last { line in
            line.hasPrefix("inventory-poller: ") || line.split(separator: " ", maxSplits: 1).last?.hasPrefix("inventory-poller: ") == true
        }.map(String.init)
    }

    /// stdout as the `--format json` document.
    var document: [String: Any]? { (try? parseJSON(stdout)) as? [String: Any] }

    /// The `Regions` entries of the JSON document.
    var regions: [[String: Any]] { document?["Regions"] as? [[String: Any]] ?? [] }

    var instanceIds: [String] {
        (document?["Instances"] as? [[String: Any]] ?? []).compactMap { $0["InstanceId"] as? String }
    }
}
