import Foundation
import Logging
import Synchronization

/// HTTP clients lent to whoever needs one for a moment: credential renewals (AssumeRole)
/// happen on the workers' threads, for many accounts at once, and a single shared client
/// would serialize them (its one libcurl handle takes one request at a time). A client is
/// made when none is idle and kept for the next borrower, so the pool holds at most as many
/// clients as renewals ever ran at once, each with its kept-alive connection.
public final class HTTPClientPool: Sendable {
    private enum Source: Sendable {
        case make(HTTPClient.Configuration, Logger, RunContext)
        /// Every borrower gets this client (`--check`, tests): requests take turns.
        case fixed(HTTPClient)
    }

    private let source: Source
    private let idle = Mutex<[HTTPClient]>([])
    private let closed = Atomic<Bool>(false)

    /// Clients of `run` with `configuration`, made on demand; `close()` frees them.
    public init(configuration: HTTPClient.Configuration, logger: Logger, run: RunContext) {
        source = .make(configuration, logger, run)
    }

    /// Always `client`, which the caller owns and closes.
    public init(fixed client: HTTPClient) {
        source = .fixed(client)
    }

    /// Runs `body` with a client no one else is using (or the fixed one).
    public func withClient<T>(_ body: (HTTPClient) throws -> T) rethrows -> T {
        switch source {
        case let .fixed(client):
            return try body(client)
        case let .make(configuration, logger, run):
            let client = idle.withLock { $0.popLast() } ?? HTTPClient(configuration: configuration, logger: logger, run: run)
            defer { giveBack(client) }
            return try body(client)
        }
    }

    private func giveBack(_ client: HTTPClient) {
        let keep = idle.withLock { idle -> Bool in
            guard !closed.load(ordering: .acquiring) else { return false }
            idle.append(client)
            return true
        }
        if !keep { client.close() }
    }

    /// Closes the idle clients; one still lent is closed when it comes back. Safe to call twice.
    public func close() {
        let clients = idle.withLock { idle -> [HTTPClient] in
            closed.store(true, ordering: .releasing)
            defer { idle = [] }
            return idle
        }
        clients.forEach { $0.close() }
    }
}
