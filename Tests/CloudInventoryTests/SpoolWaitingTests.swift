@testable import CloudInventory
import Foundation
import Testing

/// A spool file meant for another spelling of the database is never stranded in silence: the
/// run warns with how many wait and for which hosts/database, `--check` says so on its spool
/// line, and the default port written out or not is one database. Against moto and the peer.
@Suite struct SpoolWaitingTests {
    @Test func theDefaultPortWrittenOutIsOneDatabaseAndEarlierIdentitiesStillMatch() {
        let bare = MongoURI("mongodb://u:p@DB.example:27017,[::1]/").databaseIdentity("inv")
        #expect(bare == MongoURI("mongodb://db.example,[::1]:27017/").databaseIdentity("inv"))
        #expect(bare != MongoURI("mongodb://db.example:27018/").databaseIdentity("inv"))
        #expect(bare != MongoURI("mongodb+srv://db.example/").databaseIdentity("inv"))
        // Earlier versions hashed the hosts as written: their files replay after the upgrade,
        // and after the port is dropped from or added to the URI.
        func legacy(_ hosts: String) -> String {
            MongoURI.identity(srv: false, hosts: [hosts], database: "inv")
        }
        #expect(MongoURI("mongodb://h:27017/").databaseIdentities("inv").contains(legacy("h:27017")))
        #expect(MongoURI("mongodb://h/").databaseIdentities("inv").contains(legacy("h:27017")))
        #expect(MongoURI("mongodb://h:27017/").databaseIdentities("inv").contains(legacy("h")))
    }

    @Test func filesForAnotherDatabaseAreNamedInAWarningAndInCheck() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        let port = mongo.uri.split(separator: ":").last!.filter(\.isNumber)
        var env = world.storingEnvironment(mongo, spool: spool)

        // Spooled while the database is down, by a URI with a password.
        mongo.down()
        env["CM_DB_URI"] = "mongodb://poller:Wait1ngPw@127.0.0.1:\(port)/?serverSelectionTimeoutMS=300"
        let down = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(down.status == 5, "\(down.stderr)")
        mongo.up()

        // Another spelling of the same server: the file waits, and the run says so.
        env["CM_DB_URI"] = "mongodb://localhost:\(port)/"
        let other = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(other.status == 0, "\(other.stderr)")
        let warning = other.stderr.split(separator: "\n").first { $0.contains("warning") && $0.contains("wait for another database") }
        #expect(warning?.contains("1 spool file(s)") == true && warning?.contains("127.0.0.1:\(port)/\(mongo.database)") == true, "\(other.stderr)")
        let check = try world.poll(["--check", "--region", "eu-west-1"], environment: env)
        let line = check.stdout.split(separator: "\n").first { $0.contains("spool") }
        #expect(line?.contains("1 poll(s) waiting; 1 of them for another database") == true, "\(check.stdout)")
        #expect(line?.contains("127.0.0.1:\(port)/\(mongo.database)") == true, "\(check.stdout)")
        for text in [other.stderr, check.stdout, check.stderr] { #expect(!text.contains("Wait1ngPw")) }

        // The spelling it was spooled with replays it.
        env["CM_DB_URI"] = "mongodb://127.0.0.1:\(port)/"
        let same = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(!same.stderr.contains("wait for another database"))
        #expect(try mongo.snapshot().polls.contains { $0["Spooled"] as? Bool == true })
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).filter { $0.hasSuffix(".ndjson") }.isEmpty)
    }
}
