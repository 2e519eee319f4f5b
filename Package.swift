// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "inventory-poller",
    products: [
        .executable(name: "inventory-poller", targets: ["InventoryPoller"]),
        .library(name: "AWSCore", targets: ["AWSCore"]),
        .library(name: "CloudInventory", targets: ["CloudInventory"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CSpawn"),
        .systemLibrary(
            name: "CMongoC",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]
        ),
        // The AWS plumbing any Swift program can import: SigV4 signing, the libcurl HTTP client
        // and call loop, the credential chain, shared configuration, STS, the Query and JSON
        // protocols, and the byte readers and writers they stand on.
        .target(
            name: "AWSCore",
            dependencies: [
                "CCurl",
                "CSpawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // SE-0458: every unsafe construct is marked `unsafe` where it is used; CI's
            // warnings-as-errors build keeps each target at zero.
            swiftSettings: [.strictMemorySafety()]
        ),
        // The inventory: polling, the store, the spool, history, BSON, the MongoDB wrapper,
        // Organizations polling, and the EC2 client with its renderer.
        .target(
            name: "CloudInventory",
            dependencies: [
                "AWSCore",
                "CMongoC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // SE-0458: every unsafe construct is marked `unsafe` where it is used; CI's
            // warnings-as-errors build keeps each target at zero.
            swiftSettings: [.strictMemorySafety()]
        ),
        .executableTarget(
            name: "InventoryPoller",
            dependencies: [
                "AWSCore",
                "CloudInventory",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.strictMemorySafety()]
        ),
        // libFuzzer harness for the parsers (`make fuzz`); an ordinary build makes a replayer.
        .executableTarget(
            name: "InventoryFuzz",
            dependencies: ["CloudInventory"],
            swiftSettings: [.strictMemorySafety()]
        ),
        // The tests run the built `inventory-poller` (`Harness.pollerBinary`): depending on its
        // target makes `swift build --build-tests` and `swift test` rebuild it, so no test
        // runs a stale binary.
        .testTarget(
            name: "CloudInventoryTests",
            dependencies: ["AWSCore", "CloudInventory", "InventoryPoller"],
            exclude: [],
            swiftSettings: [.strictMemorySafety()]
        ),
    ],
    swiftLanguageModes: [.v6]
)
