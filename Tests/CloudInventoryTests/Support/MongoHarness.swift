import CloudInventory
import Foundation
import Logging
import Synchronization

/// A MongoDB for one test: by default `Tests/Support/mongo_server.py` (mockupdb speaking the
/// wire protocol, mongomock storing), on its own port; or the real server named by
/// `CM_TEST_MONGO_URI`, with a database of the test's own.
final class TestMongo: @unchecked Sendable {
    enum Backend: String, CustomStringConvertible, Sendable {
        case mock, real
        var description: String { rawValue }
    }

    /// The mock always; a real server too when `CM_TEST_MONGO_URI` is set.
    static var backends: [Backend] {
        ProcessInfo.processInfo.environment["CM_TEST_MONGO_URI"] == nil ? [.mock] : [.mock, .real]
    }

    let backend: Backend
    let uri: String
    let database = "inv_\(UUID().uuidString.prefix(8).lowercased())"
    private let server: PythonServer?

    init(_ backend: Backend) throws {
        self.backend = backend
        if backend == .real {
            uri = ProcessInfo.processInfo.environment["CM_TEST_MONGO_URI"]!
            server = nil
            return
        }
        let server = try PythonServer("mongo_server.py")
        uri = "mongodb://127.0.0.1:\(try server.port)/"
        self.server = server
    }

    /// Connections refused from now on (mock only). Returns once the port really refuses.
    func down() {
        guard let server else { return }
        server.signal(SIGUSR1)
        for _ in 0..<100 {
            if !accepts() { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Back on the same port with the same data (mock only).
    func up() {
        guard let server else { return }
        server.signal(SIGUSR2)
        for _ in 0..<100 {
            if accepts() { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Whether the server's port takes a TCP connection right now.
    private func accepts() -> Bool {
        let port = UInt16(uri.split(separator: ":").last!.filter(\.isNumber))!
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = unsafe inet_addr("127.0.0.1")
        return unsafe withUnsafePointer(to: &address) {
            unsafe $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { unsafe connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The next `times` commands named `command` get their connection closed without a reply.
    func hangup(on command: String, times: Int = 1) throws {
        let client = try MongoClient(uri: MongoURI(uri), logger: Logger(label: "test"))
        defer { client.close() }
        try client.command("admin", ["testFaults": 1, "hangupOn": .string(command), "times": .int32(Int32(times))])
    }

    /// From now on every insert/update whose documents contain `marker` gets a write error
    /// (code 121): the server refusing the data itself. An empty marker ends it (mock only).
    func reject(marker: String) throws {
        let client = try MongoClient(uri: MongoURI(uri), logger: Logger(label: "test"))
        defer { client.close() }
        try client.command("admin", ["testFaults": 1, "rejectMarker": .string(marker)])
    }

    struct Snapshot {
        var instances: [[String: Any]]
        var events: [[String: Any]]
        var polls: [[String: Any]]
        var indexes: [String: [String]]
        var commands: [[String: Any]]?

        func instances(in region: String) -> [[String: Any]] { instances.filter { $0["Region"] as? String == region } }
        func events(in region: String) -> [[String: Any]] { events.filter { $0["Region"] as? String == region } }
        func instance(_ id: String) -> [String: Any]? { instances.first { $0["InstanceId"] as? String == id } }
        func events(for id: String) -> [[String: Any]] { events.filter { $0["InstanceId"] as? String == id } }
    }

    func snapshot() throws -> Snapshot {
        let result = try runPython("mongo_inspect.py", [uri, database])
        guard result.status == 0, let object = try parseJSON(result.stdout) as? [String: Any] else {
            throw HarnessError("mongo_inspect.py failed: \(result.stderr)")
        }
        return Snapshot(instances: object["instances"] as! [[String: Any]], events: object["events"] as! [[String: Any]],
                        polls: object["polls"] as! [[String: Any]], indexes: object["indexes"] as! [String: [String]],
                        commands: object["commands"] as? [[String: Any]])
    }
}

extension World {
    /// A region no other test uses, seeded with `count` instances. Tests that change the
    /// world work in their own regions so parallel tests never see each other's changes.
    func freshRegion(seed count: Int) throws -> (region: String, ids: [String]) {
        let region = RegionPool.next()
        let reply = try controlCall("POST", "/ec2/seed", ["region": region, "count": count]) as! [String: Any]
        return (region, reply["ids"] as! [String])
    }

    @discardableResult
    func change(_ region: String, stop: [String] = [], terminate: [String] = [], vanish: [String] = [],
                tag: [String: [String: String]] = [:], launch: Int = 0) throws -> [String] {
        let reply = try controlCall("POST", "/ec2/change", ["region": region, "stop": stop, "terminate": terminate,
                                                            "vanish": vanish, "tag": tag, "launch": launch]) as! [String: Any]
        return reply["launched"] as! [String]
    }

    struct ProxyHandle: Sendable {
        let id: String
        let url: String
    }

    /// `{"<region>/<action>": calls}` the proxy has seen.
    func proxyCalls(_ proxy: ProxyHandle) throws -> [String: Int] {
        try controlCall("GET", "/proxy/\(proxy.id)/calls", nil) as? [String: Int] ?? [:]
    }

    func newProxy(rules: [[String: Any]]) throws -> ProxyHandle {
        let reply = try controlCall("POST", "/proxy", ["rules": rules]) as! [String: Any]
        return ProxyHandle(id: reply["id"] as! String, url: reply["url"] as! String)
    }

    /// The environment for a poll that stores into `mongo`, spooling under `spool`.
    func storingEnvironment(_ mongo: TestMongo, spool: URL, endpoint: String? = nil) -> [String: String] {
        var env = pollerEnvironment(endpoint: endpoint)
        env["CM_DB_URI"] = mongo.uri
        env["CM_DB_NAME"] = mongo.database
        env["CM_SPOOL_DIR"] = spool.path
        return env
    }
}

/// Regions moto knows and the seeded world leaves empty, handed out once each.
enum RegionPool {
    private static let regions = ["ca-central-1", "sa-east-1", "eu-north-1", "eu-west-2", "eu-west-3", "ap-northeast-1",
                                  "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "us-west-1", "us-west-2",
                                  "us-east-2", "eu-central-1", "me-south-1", "af-south-1", "ap-east-1", "eu-south-1",
                                  "ap-south-2", "ap-southeast-3", "ap-southeast-4", "eu-central-2", "eu-south-2", "il-central-1",
                                  "me-central-1", "ca-west-1", "ap-southeast-5", "mx-central-1", "ap-east-2", "ap-southeast-6", "ap-southeast-7"]
    private static let index = Mutex(0)

    static func next() -> String {
        index.withLock { i in
            defer { i += 1 }
            return regions[i % regions.count]
        }
    }
}

/// Sleeps into the next whole second: poll times are whole seconds, and two polls of one
/// scenario must not share one.
func nextSecond() {
    let now = Date().timeIntervalSince1970
    Thread.sleep(forTimeInterval: now.rounded(.down) + 1.05 - now)
}
