#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The harness's own spawner. With Foundation's `Process`, a child spawned by one thread
/// could inherit another child's exit-notification socket or pipe ends, and the other's exit
/// or EOF then waited for the first one to end: a suite hang on CI. Here short children run
/// while long-lived ones are spawned beside them from other threads, as the suites do.
@Suite struct TestChildTests {
    @Test func anExitAndAnEOFAreSeenWhileSiblingsStartedMeanwhileLiveOn() throws {
        let siblings = CredentialCacheTests.Collector<TestChild>()
        let spawner = Thread {
            for _ in 0..<40 {
                if let child = try? TestChild("/bin/sleep", ["600"], environment: [:]) { siblings.add(child) }
            }
        }
        spawner.start()
        defer {
            // Bounded: the spawner makes 40 children and ends.
            for _ in 0..<1000 where !spawner.isFinished { usleep(10_000) }
            for child in siblings.all { child.stop() }
        }
        for round in 0..<40 {
            let cat = try TestChild("/bin/cat", [], environment: [:], stdin: .pipe, stdout: .capture, stderr: .capture)
            try cat.input?.write(contentsOf: Data("round \(round)".utf8))
            try cat.input?.close()
            // A hang guard, not a timing: cat ends as soon as its stdin does.
            #expect(cat.finish(timeout: 120) == 0, "round \(round): cat's EOF or exit went unseen")
            #expect(String(decoding: cat.collected()[0], as: UTF8.self) == "round \(round)")
        }
        #expect(siblings.all.allSatisfy { $0.isRunning }, "the siblings live on throughout")
    }

    /// A grandchild that keeps the pipe open delays EOF past the grace period; what the child
    /// wrote before it ended is still collected, even a chunk far short of the read size.
    @Test func outputWrittenBeforeTheExitSurvivesAPipeHeldOpen() throws {
        let directory = Harness.temporaryDirectory()
        let pidFile = directory.appendingPathComponent("grandchild").path
        let child = try TestChild("/bin/sh", ["-c", "printf partial; sleep 600 & echo $! > \(pidFile)"], environment: [:],
                                  stdout: .capture, stderr: .capture)
        #expect(child.finish(timeout: 120) == 0)
        #expect(String(decoding: child.collected(grace: 1)[0], as: UTF8.self) == "partial")
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
    }
}
