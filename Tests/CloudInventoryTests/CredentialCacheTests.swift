@testable import AWSCore
@testable import CloudInventory
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Testing

/// One credential cache for every source that expires, shared by all workers; and a stop
/// request during a slow IMDS read ends it at once.
@Suite struct CredentialCacheTests {
    static func credentialFetches(_ world: World, _ imds: World.IMDSHandle) throws -> Int {
        try world.requests(imds).filter { $0.0 == "GET" && $0.2 != 0 && $0.1.hasSuffix("/security-credentials/inventory-poller") }.count
    }

    /// The stalled credentials read has arrived at IMDS (logged with status 0 on arrival).
    static func credentialsReadInFlight(_ world: World, _ imds: World.IMDSHandle) -> Bool {
        ((try? world.requests(imds)) ?? []).contains { $0.2 == 0 }
    }

    /// Values gathered from several threads.
    final class Collector<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [T] = []
        func add(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
        var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    }

    /// Runs `body` on `count` threads at once and waits for all of them.
    static func concurrently(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        for _ in 0..<count {
            group.enter()
            Thread { body(); group.leave() }.start()
        }
        group.wait()
    }

    @Test func concurrentWorkersShareOneIMDSFetch() async throws {
        let world = try await World.shared()
        // A slow credentials answer, so the eight callers really overlap.
        let imds = try world.newIMDS(faults: ["stall_credentials_seconds": 0.4])
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        var configuration = IMDSClient.Configuration()
        configuration.endpoint = imds.url
        configuration.timeout = .seconds(5)
        let provider = IMDSCredentialProvider(imds: IMDSClient(configuration: configuration, http: http, logger: Logger(label: "test")))
        let keys = Collector<String?>()
        Self.concurrently(8) { keys.add((try? provider.credentials())??.accessKeyId) }
        #expect(keys.all.count == 8)
        #expect(keys.all.allSatisfy { $0 == world.roleCredentials["AccessKeyId"] })
        #expect(try Self.credentialFetches(world, imds) == 1)
        // And later calls are served from the cache.
        _ = try provider.credentials()
        #expect(try Self.credentialFetches(world, imds) == 1)
    }

    @Test func credentialsWithoutExpirationAreKeptForTheRun() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["no_expiration": true])
        let (client, http) = IMDSTests.client(imds.url)
        defer { http.close() }
        let provider = IMDSCredentialProvider(imds: client)
        for _ in 0..<3 { #expect(try provider.credentials()?.expiration == nil) }
        #expect(try Self.credentialFetches(world, imds) == 1)
    }

    @Test func credentialsInsideTheMarginAreRefreshed() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS()
        let (client, http) = IMDSTests.client(imds.url)
        defer { http.close() }
        // A margin longer than any credentials last makes every call a refresh.
        let provider = IMDSCredentialProvider(imds: client, refreshMargin: 10 * 365 * 86400)
        for _ in 0..<2 { _ = try provider.credentials() }
        #expect(try Self.credentialFetches(world, imds) == 2)
    }

    /// A counting source with a controllable clock: a failed refresh keeps still-valid
    /// credentials, and waiters share the refresher's failure rather than each retrying.
    @Test func aFailedRefreshFallsBackToCredentialsThatStillWork() throws {
        final class Source: CredentialProvider, @unchecked Sendable {
            let lock = NSLock()
            var calls = 0
            var fail = false
            func credentials() throws -> Credentials? {
                lock.lock()
                calls += 1
                let (n, failing) = (calls, fail)
                lock.unlock()
                Thread.sleep(forTimeInterval: 0.1)
                if failing { throw CredentialError.unavailable("source down") }
                return Credentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s", expiration: Date().addingTimeInterval(600))
            }
        }
        let source = Source()
        let cache = CachingCredentialProvider(source, refreshMargin: 900)  // always inside the margin
        #expect(try cache.credentials()?.accessKeyId == "AKIA1")
        source.lock.lock(); source.fail = true; source.lock.unlock()
        let results = Collector<String>()
        Self.concurrently(4) { results.add((try? cache.credentials())??.accessKeyId ?? "error") }
        #expect(results.all.count == 4)
        #expect(results.all.allSatisfy { $0 == "AKIA1" }, "still valid for ten minutes: used while the source is down")
        #expect(source.calls < 1 + 4, "waiters shared a refresh")
    }

    @Test func aStopRequestEndsASlowIMDSRead() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["stall_credentials_seconds": 20])
        let cancellation = CancellationFlag()
        let http = HTTPClient(logger: Logger(label: "test"), cancellation: cancellation)
        defer { http.close() }
        var configuration = IMDSClient.Configuration()
        configuration.endpoint = imds.url
        configuration.timeout = .seconds(30)  // only the stop request can end the read
        let provider = IMDSCredentialProvider(imds: IMDSClient(configuration: configuration, http: http, logger: Logger(label: "test")))
        Thread {
            for _ in 0..<400 where !Self.credentialsReadInFlight(world, imds) { Thread.sleep(forTimeInterval: 0.02) }
            cancellation.cancel()
        }.start()
        let error = #expect(throws: CredentialError.self) { try provider.credentials() }
        #expect(error?.isCancelled == true, "\(String(describing: error))")
    }

    @Test func sigtermWhileFetchingCredentialsExits143() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["stall_credentials_seconds": 90])
        var env = world.pollerEnvironment(imds: imds.url)
        env["AWS_METADATA_SERVICE_TIMEOUT"] = "60"  // only the signal can end the read
        let run = try world.startPoll(["--region", "eu-west-1"], environment: env)
        // Wait until the poller is inside the stalled credentials read: bounded only so that a
        // broken poller cannot hang the suite (a loaded CI machine may take many seconds to
        // start it), and the signal is sent only once the read is seen. The wait blocks this
        // thread (no await from the spawn to the kill): an awaiting test was once starved by the
        // other suites past the poller's whole run, and then saw the IMDS server's own 90 s
        // stall still "in flight" and signalled a poller that had already given up.
        var inFlight = false
        for _ in 0..<4500 {
            inFlight = Self.credentialsReadInFlight(world, imds)
            if inFlight { break }
            pause(0.02)
        }
        try #require(inFlight, "the poller never reached the credentials read")
        try #require(run.signal(SIGTERM), "the poller ended before the signal could be sent")
        let result = run.finish(timeout: 60)
        #expect(result.status == 143, "\(result.stderr)")
        #expect(result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    }
}
