@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Foundation
import Glibc
import Testing

/// What another local user, a broken server or a dropped session can plant in the run's way:
/// links and FIFOs where files belong, an error document under the right root, SIGHUP.
@Suite struct PlantedFileTests {
    /// A lock path that is a symlink (to a file root's manual run would truncate) or a FIFO
    /// (which would block the open): one usage line, the target untouched, no hang.
    @Test func aLockPathThatIsALinkOrAFIFOIsRefusedAndNothingIsWritten() throws {
        let dir = Harness.temporaryDirectory()
        let victim = dir.appendingPathComponent("victim")
        try Data("precious\n".utf8).write(to: victim)
        let link = dir.appendingPathComponent("link.lock").path
        try #require(unsafe symlink(victim.path, link) == 0)
        let fifo = dir.appendingPathComponent("fifo.lock").path
        try #require(unsafe mkfifo(fifo, 0o644) == 0)
        for lock in [link, fifo] {
            let result = try runProcess(Harness.pollerBinary, ["--region", "eu-west-1", "--lock-file", lock],
                                        environment: Harness.baseEnvironment(), timeout: 60)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.failureLines.count == 1, "\(result.stderr)")
        }
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious\n")
    }

    /// A FIFO or a link named like a spool file is set aside as malformed, never opened for a
    /// blocking read.
    @Test func aSpoolNameThatIsAFIFOOrALinkIsMalformed() throws {
        let dir = Harness.temporaryDirectory()
        let fifo = dir.appendingPathComponent("20261125T100003Z-123456789012-cccccccc.ndjson").path
        try #require(unsafe mkfifo(fifo, 0o600) == 0)
        let link = dir.appendingPathComponent("20261125T100004Z-123456789012-dddddddd.ndjson").path
        try #require(unsafe symlink("/etc/passwd", link) == 0)
        for path in [fifo, link] {
            let error = #expect(throws: Spool.Error.self) { _ = try Spool.LineReader(path: path) }
            #expect(error?.isIO == false, "set aside, not retried forever: \(String(describing: error))")
        }
    }

    /// `<Errors>` under the right root is an error document all the same.
    @Test func anErrorDocumentUnderTheRightRootIsAnError() {
        let body = """
        <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>\
        <Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors><reservationSet/></DescribeInstancesResponse>
        """
        let response = HTTPResponse(status: 200, headers: [], body: Array(body.utf8))
        let error = #expect(throws: AWSError.self) {
            try QueryResponse.verify(response, action: "DescribeInstances", namespace: "http://ec2.amazonaws.com/doc/2016-11-15/",
                                     operation: "ec2:DescribeInstances")
        }
        #expect(error?.errorCode == "AuthFailure")
        let fine = HTTPResponse(status: 200, headers: [], body: Array("<DescribeInstancesResponse><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>".utf8))
        #expect(throws: Never.self) {
            try QueryResponse.verify(fine, action: "DescribeInstances", namespace: nil, operation: "ec2:DescribeInstances")
        }
    }

    /// SIGHUP (an operator's SSH session dropping) stops the run like SIGTERM: 129, one line.
    @Test func sighupDuringTheCredentialFetchIs129() async throws {
        let world = try await World.shared()
        let stalled = try world.newIMDS(faults: ["stall_token_seconds": 3])
        let lock = Harness.temporaryDirectory().appendingPathComponent("poller.lock").path
        let running = try world.startPoll(["--region", "eu-west-1", "--lock-file", lock], environment: world.pollerEnvironment(imds: stalled.url))
        for _ in 0..<400 where ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").isEmpty {
            pause(0.05)
        }
        running.signal(SIGHUP)
        let result = running.finish(timeout: 60)
        #expect(result.status == 129, "\(result.stderr)")
        #expect(result.failureLines.last?.contains("SIGHUP") == true, "\(result.stderr)")
    }
}
