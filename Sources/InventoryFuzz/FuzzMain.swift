/// One libFuzzer binary for every parser; `FUZZ_TARGET` picks which (see
/// `FuzzEntryPoints.targets` for the list and for how to add one). Built by `make fuzz` with
/// `-sanitize=fuzzer,address` and `-DFUZZING`, where libFuzzer supplies `main`.
///
/// In an ordinary build, the same target is a replayer: `inventory-fuzz TARGET FILE...` runs
/// each file through the target once, to reproduce a crash under the debugger.
@_spi(Fuzzing) import CloudInventory
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var selected: FuzzEntryPoints.Target?

private func complain(_ message: String) {
    var line = "inventory-fuzz: \(message)\n"
    line.withUTF8 { _ = unsafe write(2, $0.baseAddress, $0.count) }
}

private func select(_ name: String?) -> FuzzEntryPoints.Target {
    guard let name, let target = FuzzEntryPoints.target(named: name) else {
        let names = FuzzEntryPoints.targets.map(\.name).joined(separator: "|")
        complain("set FUZZ_TARGET to one of \(names)")
        exit(2)
    }
    return target
}

#if FUZZING
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) }
    if name == "list" {
        // For Tests/Fuzz/run.sh: every target and its -max_len, one per line.
        for target in FuzzEntryPoints.targets { print("\(target.name) \(target.maxLength)") }
        exit(0)
    }
    selected = select(name)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?.run(bytes)
    return 0
}
#else
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        let target = select(arguments.first)
        for path in arguments.dropFirst() {
            guard let file = unsafe fopen(path, "rb") else {
                complain("cannot open \(path)")
                exit(1)
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while case let n = unsafe fread(&chunk, 1, chunk.count, file), n > 0 { bytes.append(contentsOf: chunk[..<n]) }
            unsafe fclose(file)
            target.run(bytes)
            print("\(path): ok")
        }
    }
}
#endif
