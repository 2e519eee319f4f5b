import AWSCore
import CloudInventory
import Foundation
import Logging

/// The organization of `Tests/Support/org_world.py`: a moto of its own (Organizations, STS,
/// IAM, EC2; signatures and IAM checked) holding a management account, 24 members (one
/// without the poller's role, two suspended), an outsider in no organization, and an aws-cn
/// twin. One per test process, started by the first test that needs it.
struct OrgWorld: Sendable {
    struct Member: Sendable {
        let id: String
        let hasRole: Bool
        let state: String
        /// region → instance ids
        let instances: [String: [String]]
    }

    let motoURL: String
    let controlURL: String
    let management: String
    let roleName: String
    let poller: [String: String]
    let denied: [String: String]
    let outsider: [String: String]
    let outsiderAccount: String
    let members: [Member]
    let managementInstances: [String: [String]]
    let chinaPoller: [String: String]
    let chinaMembers: [Member]
    let chinaManagementInstances: [String: [String]]

    static func shared() async throws -> OrgWorld {
        try await process.value()
    }

    private static let process = ProcessWideServer<OrgWorld> {
        let server = try await PythonServer.start("org_world.py", timeout: 180, output: FileHandle.standardError)
        return (server, try OrgWorld(try server.document()))
    }

    init(_ d: [String: Any]) throws {
        func member(_ m: [String: Any]) -> Member {
            Member(id: m["id"] as! String, hasRole: m["role"] as? Bool ?? true, state: m["state"] as? String ?? "ACTIVE",
                   instances: m["instances"] as! [String: [String]])
        }
        motoURL = d["moto_url"] as! String
        controlURL = d["control_url"] as! String
        management = d["management"] as! String
        roleName = d["role_name"] as! String
        poller = d["poller"] as! [String: String]
        denied = d["denied"] as! [String: String]
        outsider = d["outsider"] as! [String: String]
        outsiderAccount = d["outsider_account"] as! String
        members = (d["members"] as! [[String: Any]]).map(member)
        managementInstances = d["management_instances"] as! [String: [String]]
        let china = d["china"] as! [String: Any]
        chinaPoller = china["poller"] as! [String: String]
        chinaMembers = (china["members"] as! [[String: Any]]).map(member)
        chinaManagementInstances = china["management_instances"] as! [String: [String]]
    }

    /// An operator's run with environment keys, every endpoint pointed at this moto.
    func poll(_ arguments: [String], credentials: [String: String]? = nil, extraEnvironment: [String: String] = [:]) throws -> ProcessResult {
        let creds = credentials ?? poller
        var env = Harness.baseEnvironment()
        env["AWS_ACCESS_KEY_ID"] = creds["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = creds["SecretAccessKey"]
        env["AWS_ENDPOINT_URL"] = motoURL
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env.merge(extraEnvironment) { _, new in new }
        return try runProcess(Harness.pollerBinary, World.withLock(arguments), environment: env)
    }

    /// Every AssumeRole moto granted so far, `(role ARN, external id)`, from every test.
    func assumed() throws -> [(String, String?)] {
        let http = HTTPClient(logger: Logger(label: "test-control"))
        defer { http.close() }
        let response = try http.execute(HTTPRequest(method: "GET", url: controlURL + "/assumed"))
        guard response.status == 200 else { throw HarnessError("org world GET /assumed: HTTP \(response.status)") }
        let list = try JSONSerialization.jsonObject(with: Data(response.body)) as! [[Any]]
        return list.map { ($0[0] as! String, $0[1] as? String) }
    }

    /// Instance ids by account a poll of `regions` must print: the management account's and
    /// those of every ACTIVE member with the role, less `skipping`.
    func expected(regions: [String], skipping: Set<String> = []) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        let accounts = [(management, managementInstances)]
            + members.filter { $0.hasRole && $0.state == "ACTIVE" }.map { ($0.id, $0.instances) }
        for (id, instances) in accounts where !skipping.contains(id) {
            out[id] = Set(regions.flatMap { instances[$0] ?? [] })
        }
        return out
    }
}
