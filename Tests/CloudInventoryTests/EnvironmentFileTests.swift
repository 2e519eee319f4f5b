@testable import CloudInventory
import Foundation
import Testing

/// The deployed environment file (`/etc/inventory-poller/env`) read without a shell: what
/// provision.sh writes reads back exactly as `sh` reads it, anything a shell would evaluate is
/// an error that quotes no value, any bytes give values or an error, and an unsafe file (a
/// link, a FIFO, writable by others) is refused.
@Suite struct EnvironmentFileTests {
    /// Values as provision.sh quotes them (its own `shq`), read back by `sh` and by the parser.
    @Test func whatProvisionWritesReadsBackAsTheShellReadsIt() throws {
        let values = ["mongodb://u:p%40ss@db1:27017,db2/?replicaSet=rs0&authSource=admin", "it's", "'''", "a b\tc", "$HOME `id` \"q\" \\n ;|&",
                      "", "ünï", "x=y=z"]
        let dir = Harness.temporaryDirectory()
        let file = dir.appendingPathComponent("env")
        // provision.sh's own `shq`, taken from the script.
        var script = "eval \"$(grep '^shq()' \"$P\")\"\n: > \"$F\"\n"
        for (i, _) in values.enumerated() { script += "printf 'V\(i)=%s\\n' \"$(shq \"$V\(i)\")\" >> \"$F\"\n" }
        var env = Harness.baseEnvironment()
        env["F"] = file.path
        env["P"] = Harness.repoRoot.appendingPathComponent("deploy/provision.sh").path
        for (i, v) in values.enumerated() { env["V\(i)"] = v }
        let wrote = try runProcess("/bin/bash", ["-c", script], environment: env)
        try #require(wrote.status == 0, "\(wrote.stderr)")
        let parsed = try #require(try EnvironmentFile.read(path: file.path))
        for (i, v) in values.enumerated() { #expect(parsed["V\(i)"] == v, "V\(i)") }
        let shell = try runProcess("/bin/bash", ["-c", ". \"$F\"; printf '%s\\0' " + values.indices.map { "\"$V\($0)\"" }.joined(separator: " ")],
                                   environment: ["F": file.path, "PATH": "/usr/bin:/bin"])
        #expect(shell.stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == values)
    }

    @Test func commentsBlankLinesAndBareValues() throws {
        let text = "# Managed by provision.sh\n\nCM_DB_NAME=inventory\n  # indented comment\nCM_SPOOL_DIR=/var/lib/inventory-poller/spool\nA='x'  \n"
        let values = try EnvironmentFile.parse(Array(text.utf8))
        #expect(values == ["CM_DB_NAME": "inventory", "CM_SPOOL_DIR": "/var/lib/inventory-poller/spool", "A": "x"])
    }

    @Test func whatAShellWouldEvaluateIsAnErrorThatQuotesNoValue() {
        let secret = "S3cretPw"
        let bad = ["CM_DB_URI=mongodb://u:\(secret)@h/$(id)", "CM_DB_URI=\"mongodb://u:\(secret)@h/\"", "CM_DB_URI=`\(secret)`",
                   "CM_DB_URI='mongodb://u:\(secret)@h/", "CM_DB_URI='\(secret)' rm -rf /", "export CM_DB_URI='\(secret)'",
                   " CM_DB_URI='\(secret)'", "CM_DB_URI='\(secret)'\r", "1X='\(secret)'", "=\(secret)", "CM_DB_URI\(secret)",
                   "A='\(secret)'\nA='\(secret)'", "CM_DB_URI=\\\(secret)", "CM_DB_URI='\u{0}\(secret)'", "CM_DB_URI=a;\(secret)"]
        for text in bad {
            do {
                let values = try EnvironmentFile.parse(Array(text.utf8))
                Issue.record("accepted \(text.debugDescription): \(values)")
            } catch {
                #expect(!error.description.contains(secret), "\(error)")
                #expect(error.description.hasPrefix("line "), "\(error)")
            }
        }
        // Not UTF-8.
        #expect(throws: EnvironmentFile.Error.self) { try EnvironmentFile.parse([0x41, 0x3D, 0x27, 0xFF, 0x27]) }
    }

    /// Any bytes give values or a typed error, never a trap.
    @Test func theParserIsTotal() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("AB_=' \\\"$#\n\t\r\0xé".utf8) + [0xFF, 0xC3]
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? EnvironmentFile.parse(bytes)
        }
    }

    @Test func anUnsafeFileIsRefusedAndAMissingOneIsNone() throws {
        let dir = Harness.temporaryDirectory()
        #expect(try EnvironmentFile.read(path: dir.appendingPathComponent("missing").path) == nil)
        let file = dir.appendingPathComponent("env")
        try #require(FileManager.default.createFile(atPath: file.path, contents: Data("CM_DB_NAME=x\n".utf8), attributes: [.posixPermissions: 0o640]))
        #expect(try EnvironmentFile.read(path: file.path) == ["CM_DB_NAME": "x"])
        func refusal(_ path: URL) -> String? {
            do {
                _ = try EnvironmentFile.read(path: path.path)
                return nil
            } catch {
                return error.description
            }
        }
        unsafe chmod(file.path, 0o646)
        #expect(refusal(file)?.contains("writable by others") == true)
        unsafe chmod(file.path, 0o640)
        let link = dir.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: file.path)
        #expect(refusal(link)?.contains("symbolic link") == true)
        let fifo = dir.appendingPathComponent("fifo")
        #expect(unsafe mkfifo(fifo.path, 0o640) == 0)
        #expect(refusal(fifo)?.contains("not a regular file") == true)
        #expect(refusal(dir)?.contains("not a regular file") == true)
    }
}
