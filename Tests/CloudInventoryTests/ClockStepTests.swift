import Foundation
import Testing

/// The host clock stepped back between two polls (libfaketime runs the binary two hours in
/// the past): the second poll's changes and vanishes are still recorded, and the run warns.
@Suite struct ClockStepTests {
    /// Debian's libfaketime (`faketime` package, in scripts/setup.sh).
    static let faketime: String? = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"]
        .first { FileManager.default.fileExists(atPath: $0) }

    @Test(.enabled(if: faketime != nil, "libfaketime is not installed"))
    func aPollAfterABackwardClockStepRecordsWhatItSaw() async throws {
        let s = try await StoringScenario(seed: 4)
        let (mongo, region, ids) = (s.mongo, s.region, s.ids)
        #expect(try s.poll().status == 0)
        let before = try mongo.snapshot()
        let lastSeen = try #require(before.instance(ids[3])?["LastSeen"] as? String)

        try s.world.change(region, stop: [ids[0]], vanish: [ids[1]])
        var stepped = s.env
        stepped["LD_PRELOAD"] = Self.faketime!
        stepped["FAKETIME"] = "-2h"
        stepped["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        stepped["FAKETIME_NO_CACHE"] = "1"
        // Under libfaketime a Swift binary sees no arguments (the runtime's argv capture is
        // lost), so this run takes everything from the environment: region, text output.
        stepped["AWS_REGION"] = region
        let result = try s.world.poll([], environment: stepped)
        #expect(result.status == 0, "\(result.stderr)")
        let header = try #require(result.lines.first)
        #expect(header.contains("regions=\(region)"), "\(header)")
        let polledAt = String(header.prefix { $0 != "\t" && $0 != " " })
        #expect(polledAt < lastSeen, "the binary ran with its clock set back: \(polledAt)")
        #expect(result.stderr.contains("host clock is behind the stored history"), "\(result.stderr)")
        #expect(result.stderr.contains("stepSeconds="))

        let snap = try mongo.snapshot()
        #expect(StorageTests.types(snap.events(for: ids[0])).contains("state_changed"), "stopping also changes its IPs")
        #expect(StorageTests.types(snap.events(for: ids[1])) == ["appeared", "vanished"])
        #expect(snap.instance(ids[1])?["Present"] as? Bool == false)
        #expect((snap.instance(ids[3])?["LastSeen"] as? String ?? "") >= lastSeen, "LastSeen never moves backwards")
        #expect(snap.polls.count == 2)
    }
}
