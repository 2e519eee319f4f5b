import AWSCore
import CloudInventory
import Foundation
import Logging

/// The local AWS world (`Tests/Support/world.py`): moto with SigV4 and IAM checks on, a
/// strict IMDSv2 endpoint, and a control API for per-test IMDS servers with faults.
/// One world per test process; it dies with the process (a `PythonServer`).
struct World: Sendable {
    let stateFile: String
    let motoURL: String
    let imdsURL: String
    let controlURL: String
    let account: String
    let roleArn: String
    let regions: [String]
    let counts: [String: Int]
    let roleCredentials: [String: String]
    let adminCredentials: [String: String]
    let limitedCredentials: [String: String]
    let accountB: String
    let roleB: String
    let roleCDenied: String
    let accountBCounts: [String: Int]

    static func shared() async throws -> World {
        try await process.value()
    }

    private static let process = ProcessWideServer<World> {
        // Its stdout (moto's chatter) goes to our stderr, out of the way of test output.
        let server = try await PythonServer.start("world.py", timeout: 300, output: FileHandle.standardError)
        return (server, try World(stateFile: server.portFile))
    }

    init(stateFile: String) throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stateFile))) as! [String: Any]
        self.stateFile = stateFile
        motoURL = object["moto_url"] as! String
        imdsURL = object["imds_url"] as! String
        controlURL = object["control_url"] as! String
        account = object["account"] as! String
        roleArn = object["role_arn"] as! String
        regions = object["regions"] as! [String]
        counts = object["counts"] as! [String: Int]
        roleCredentials = object["role_credentials"] as! [String: String]
        adminCredentials = object["admin_credentials"] as! [String: String]
        limitedCredentials = object["limited_credentials"] as! [String: String]
        accountB = object["account_b"] as! String
        roleB = object["role_b"] as! String
        roleCDenied = object["role_c_denied"] as! String
        accountBCounts = object["account_b_counts"] as! [String: Int]
    }

    /// Environment for the poller as on an EC2 host: no keys, IMDS and endpoints pointed here.
    func pollerEnvironment(imds: String? = nil, endpoint: String? = nil) -> [String: String] {
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL"] = endpoint ?? motoURL
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds ?? imdsURL
        return env
    }

    /// Runs the poller. Each run gets a lock file of its own unless the test names one, so
    /// parallel tests never meet at the overlap lock by accident.
    func poll(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
        try runProcess(Harness.pollerBinary, Self.withLock(arguments), environment: environment ?? pollerEnvironment())
    }

    func startPoll(_ arguments: [String], environment: [String: String]? = nil) throws -> RunningProcess {
        try RunningProcess(Harness.pollerBinary, Self.withLock(arguments), environment: environment ?? pollerEnvironment())
    }

    static func withLock(_ arguments: [String]) -> [String] {
        arguments.contains("--lock-file") || arguments.contains("--check") ? arguments
            : arguments + ["--lock-file", Harness.temporaryDirectory().appendingPathComponent("lock").path]
    }

    // MARK: control API

    struct IMDSHandle: Sendable {
        let id: String
        let url: String
    }

    /// A fresh IMDS server serving the world's role, with `faults` switched on from the start.
    func newIMDS(faults: [String: Any] = [:]) throws -> IMDSHandle {
        let reply = try controlCall("POST", "/imds", ["faults": faults]) as! [String: Any]
        return IMDSHandle(id: reply["id"] as! String, url: reply["url"] as! String)
    }

    func setFaults(_ imds: IMDSHandle, _ faults: [String: Any]) throws {
        _ = try controlCall("POST", "/imds/\(imds.id)/faults", faults)
    }

    func expireTokens(_ imds: IMDSHandle) throws {
        _ = try controlCall("POST", "/imds/\(imds.id)/expire", [:])
    }

    /// `[(method, path, status)]` in arrival order.
    func requests(_ imds: IMDSHandle) throws -> [(String, String, Int)] {
        let list = try controlCall("GET", "/imds/\(imds.id)/requests", nil) as! [[Any]]
        return list.map { ($0[0] as! String, $0[1] as! String, $0[2] as! Int) }
    }

    func controlCall(_ method: String, _ path: String, _ body: [String: Any]?) throws -> Any {
        let http = HTTPClient(logger: Logger(label: "test-control"))
        defer { http.close() }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try http.execute(HTTPRequest(method: method, url: controlURL + path,
                                                    headers: [("Content-Type", "application/json")], body: Array(data)))
        guard response.status == 200 else {
            throw HarnessError("control \(method) \(path): HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
