import Foundation

/// What the history tests expect of one instance, kept by the test itself as it changes the
/// world: never read back from the program's own records.
struct ExpectedInstance: Equatable, Sendable {
    var region: String
    var state: String
    var type: String
    var tags: [String: String]
    var present = true
}

/// A sequence of polls over two fresh regions with known changes in between, and the test's
/// own record of the fleet after each stored poll.
///
/// 1. every instance appears (`a`..`d` in `r1`, `e`, `f` in `r2`);
/// 2. `b` stopped, `a` tagged env=prod, `c` retyped, `f` tagged with a comma and quotes, `g` launched;
/// 3. `d` terminated, `b` started, `a` tagged env=staging, `e` dropped by EC2, but `r2` fails
///    (throttled), so `e` stays present;
/// 4. `a` stopped, with the database down: the poll is spooled (exit 5);
/// 5. the spool is replayed (poll 4 stored at its own time, `e` vanished there), then nothing new.
struct HistoryScenario: Sendable {
    let world: World
    let mongo: TestMongo
    let spool: URL
    let r1: String, r2: String
    let ids: [String: String]  // letter -> instance id
    /// The fleet after poll 1...5 (4 and 5 hold the same), and a time after each poll and before the next.
    var fleets: [[String: ExpectedInstance]] = []
    var between: [Date] = []
    /// The first and last second of each stored poll's run, for placing events.
    var windows: [ClosedRange<Date>] = []
    let retyped = "m5.large"

    init() async throws {
        world = try await World.shared()
        mongo = try TestMongo(.mock)
        spool = Harness.temporaryDirectory()
        let (r1, first) = try world.freshRegion(seed: 4)
        let (r2, second) = try world.freshRegion(seed: 2)
        self.r1 = r1
        self.r2 = r2
        ids = Dictionary(uniqueKeysWithValues: zip(["a", "b", "c", "d", "e", "f"], first + second))
    }

    var env: [String: String] { world.storingEnvironment(mongo, spool: spool) }

    func id(_ letter: String) -> String { ids[letter]! }

    /// One poll of both regions; its time window is recorded.
    mutating func poll(environment: [String: String]? = nil, extra: [String] = []) throws -> ProcessResult {
        nextSecond()
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let result = try world.poll(["--region", "\(r1),\(r2)", "--format", "ndjson", "--max-attempts", "1"] + extra,
                                    environment: environment ?? env)
        windows.append(start...Date().addingTimeInterval(1))
        return result
    }

    /// A time strictly after the last poll and before the next one.
    mutating func markBetween() {
        nextSecond()
        between.append(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
    }

    mutating func run() throws {
        // 1
        let p1 = try poll()
        guard p1.status == 0 else { throw ScenarioError("poll 1: \(p1.stderr)") }
        var fleet: [String: ExpectedInstance] = [:]
        for line in p1.lines {
            let doc = try parseJSON(line) as! [String: Any]
            let tags = (doc["Tags"] as? [[String: String]] ?? []).reduce(into: [String: String]()) { $0[$1["Key"]!] = $1["Value"]! }
            fleet[doc["InstanceId"] as! String] = ExpectedInstance(region: doc["Region"] as! String, state: "running",
                                                                   type: doc["InstanceType"] as! String, tags: tags)
        }
        guard Set(fleet.keys) == Set(ids.values) else { throw ScenarioError("poll 1 saw \(fleet.keys)") }
        fleets.append(fleet)
        markBetween()

        // 2
        try world.change(r1, stop: [id("b")], tag: [id("a"): ["env": "prod"]])
        _ = try world.controlCall("POST", "/ec2/change", ["region": r1, "type": [id("c"): retyped]])
        try world.change(r2, tag: [id("f"): ["note": "a,b \"c\""]])
        let launched = try world.change(r1, launch: 1)
        fleet[id("b")]!.state = "stopped"
        fleet[id("a")]!.tags["env"] = "prod"
        fleet[id("c")]!.type = retyped
        fleet[id("f")]!.tags["note"] = "a,b \"c\""
        let p2 = try poll()
        guard p2.status == 0, launched.count == 1 else { throw ScenarioError("poll 2: \(p2.stderr)") }
        let g = try parseJSON(p2.lines.first { $0.contains(launched[0]) } ?? "{}") as! [String: Any]
        let gTags = (g["Tags"] as? [[String: String]] ?? []).reduce(into: [String: String]()) { $0[$1["Key"]!] = $1["Value"]! }
        fleet[launched[0]] = ExpectedInstance(region: r1, state: "running", type: g["InstanceType"] as? String ?? "", tags: gTags)
        fleets.append(fleet)
        markBetween()

        // 3: r2 throttled for good in this poll only
        try world.start(r1, [id("b")])
        try world.change(r1, terminate: [id("d")], tag: [id("a"): ["env": "staging"]])
        try world.change(r2, vanish: [id("e")])
        fleet[id("b")]!.state = "running"
        fleet[id("d")]!.state = "terminated"
        fleet[id("a")]!.tags["env"] = "staging"
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": r2, "times": -1, "fault": "throttle"]])
        let p3 = try poll(environment: world.storingEnvironment(mongo, spool: spool, endpoint: proxy.url))
        guard p3.status == 4 else { throw ScenarioError("poll 3: \(p3.status) \(p3.stderr)") }
        fleets.append(fleet)
        markBetween()

        // 4: spooled
        try world.change(r1, stop: [id("a")])
        fleet[id("a")]!.state = "stopped"
        fleet[id("e")]!.present = false
        mongo.down()
        let p4 = try poll()
        mongo.up()
        guard p4.status == 5 else { throw ScenarioError("poll 4: \(p4.status) \(p4.stderr)") }
        fleets.append(fleet)
        markBetween()

        // 5: replays 4 first
        let p5 = try poll()
        guard p5.status == 0, p5.stderr.contains("spool replayed") else { throw ScenarioError("poll 5: \(p5.stderr)") }
        fleets.append(fleet)
    }

    /// Runs `inventory-poller ARGS` against this scenario's database.
    func ask(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
        try runProcess(Harness.pollerBinary, arguments, environment: environment ?? env, timeout: 120)
    }

    /// `ask` with `--format ndjson`, each line parsed.
    func documents(_ arguments: [String]) throws -> [[String: Any]] {
        let result = try ask(arguments + ["--format", "ndjson"])
        guard result.status == 0 else { throw ScenarioError("\(arguments): \(result.status) \(result.stderr)") }
        return try result.lines.map { try parseJSON($0) as! [String: Any] }
    }
}

struct ScenarioError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension World {
    /// Starts stopped instances (`World.change` has no `start`).
    func start(_ region: String, _ ids: [String]) throws {
        _ = try controlCall("POST", "/ec2/change", ["region": region, "start": ids])
    }
}

/// ISO 8601 UTC, whole seconds, as the program prints dates.
func iso(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: date)
}

/// RFC 4180, the test's own reading: quoted fields with doubled quotes, CRLF or LF line ends.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { field.unicodeScalars.append("\""); chars.removeFirst() } else { quoted = false }
            } else { field.unicodeScalars.append(c) }
        } else if c == "\"" { quoted = true }
        else if c == "," { row.append(field); field = "" }
        else if c == "\r" { continue }
        else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
        else { field.unicodeScalars.append(c) }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}
