import Foundation

/// What a storing test starts from: the shared world, a database and a spool of its own, and
/// a fresh region seeded for it; every poll stores into that database.
struct StoringScenario: Sendable {
    let world: World
    let mongo: TestMongo
    let spool: URL
    let region: String
    let ids: [String]

    /// `seed` instances in a fresh region, a database on `backend`, an empty spool.
    init(_ backend: TestMongo.Backend = .mock, seed: Int) async throws {
        world = try await World.shared()
        mongo = try TestMongo(backend)
        spool = Harness.temporaryDirectory()
        (region, ids) = try world.freshRegion(seed: seed)
    }

    /// The environment of a poll that stores into this scenario's database and spool.
    var env: [String: String] { world.storingEnvironment(mongo, spool: spool) }

    /// Polls this scenario's region, storing; `arguments` come after `--region`.
    func poll(_ arguments: [String] = []) throws -> ProcessResult {
        try world.poll(["--region", region] + arguments, environment: env)
    }
}
