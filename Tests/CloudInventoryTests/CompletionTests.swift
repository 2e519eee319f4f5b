import Foundation
import Testing

/// Shell completion from swift-argument-parser's generator: the enums' values reach every
/// shell, and the bash script really completes them.
@Suite struct CompletionTests {
    static let levels = "trace debug info notice warning error critical"

    static func script(_ shell: String) throws -> String {
        let result = try runProcess(Harness.pollerBinary, ["--generate-completion-script", shell], environment: Harness.baseEnvironment())
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    /// What bash offers after `words` (the last one being completed), as bash would call it.
    /// The poll's options belong to `poll` once the command is a tree with `poll` as its
    /// default subcommand: then the words are completed after `poll`.
    /// What bash completes for `words` with the generated script sourced: the one driver of
    /// the completion tests (`PollOptionsTests` uses it too). The binary is on PATH, for the
    /// completions that call it (profiles, regions); `extra` adds to the environment.
    static func bashCompletes(_ words: [String], environment extra: [String: String] = [:]) throws -> String {
        let file = Harness.temporaryDirectory().appendingPathComponent("inventory-poller.bash")
        let text = try script("bash")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let words = text.contains("_inventory-poller_poll()") ? [words[0], "poll"] + words.dropFirst() : words
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let program = """
        source '\(file.path)'
        COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
        _inventory-poller inventory-poller "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        echo "${COMPREPLY[*]}"
        """
        var env = Harness.baseEnvironment()
        env["PATH"] = URL(fileURLWithPath: Harness.pollerBinary).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env.merge(extra) { $1 }
        let result = try runProcess("/bin/bash", ["-c", program], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func bashCompletesTheLogLevels() throws {
        #expect(try Self.bashCompletes(["inventory-poller", "--log-level", ""]) == Self.levels)
        #expect(try Self.bashCompletes(["inventory-poller", "--log-level", "de"]) == "debug")
        #expect(try Self.bashCompletes(["inventory-poller", "--instance-"]).contains("--instance-ids"))
        #expect(try Self.bashCompletes(["inventory-poller", "--fil"]) == "--filter")
    }

    @Test func zshAndFishListTheSameValues() throws {
        let zsh = try Self.script("zsh")
        #expect(zsh.hasPrefix("#compdef inventory-poller"))
        #expect(zsh.contains("___log_level=('trace' 'debug' 'info' 'notice' 'warning' 'error' 'critical')"))
        #expect(zsh.contains("--filter[") && zsh.contains("--instance-ids["))
        let fish = try Self.script("fish")
        #expect(fish.contains("-l 'log-level'") && fish.contains("'\(Self.levels)'"))
        #expect(fish.contains("-l 'filter'") && fish.contains("-l 'instance-ids'"))
    }

    @Test func aLogLevelOutsideTheEnumIsAUsageError() throws {
        let result = try runProcess(Harness.pollerBinary, ["--log-level", "loud"], environment: Harness.baseEnvironment())
        #expect(result.status == 2)
        #expect(result.stderr.contains("'loud' is invalid for '--log-level <level>'"))
        #expect(result.stdout.isEmpty)
    }
}
