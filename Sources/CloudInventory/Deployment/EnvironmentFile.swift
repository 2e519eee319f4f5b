import AWSCore
import Glibc

/// The deployed environment file (`/etc/inventory-poller/env`, written by
/// `deploy/provision.sh`), read without a shell: an operator's `sudo inventory-poller changes`
/// finds the database the service uses without exporting the URI (which would put it in the
/// shell's history or the process list). Parsing is strict and total: `KEY=VALUE` lines, `#`
/// comments and blank lines; a value is bare safe characters or single-quoted the way
/// provision.sh's `shq` writes it (`'it'\''s'`). Anything a shell would evaluate (`$`,
/// backquotes, double quotes, a command after the value) is an error, never run. No error
/// quotes a value: the file holds the database password.
public enum EnvironmentFile {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// A file this large is not one provision.sh wrote.
    public static let maximumSize = 64 << 10

    /// The file's `KEY=VALUE` pairs; nil when it does not exist or this user may not read it.
    /// A file that is not a regular file (a link, a FIFO), that others may write, that is too
    /// large or does not parse is an error naming the path.
    public static func read(path: String) throws(Error) -> [String: String]? {
        let fd = unsafe open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 {
            switch errno {
            case ENOENT, ENOTDIR, EACCES, EPERM: return nil
            case ELOOP: throw Error("\(path): a symbolic link, not a regular file; refused")
            default: throw Error("\(path): cannot open: \(errnoDescription())")
            }
        }
        defer { close(fd) }
        var info = stat()
        guard unsafe fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw Error("\(path): not a regular file; refused") }
        guard info.st_mode & S_IWOTH == 0 else { throw Error("\(path): writable by others (mode \(String(info.st_mode & 0o7777, radix: 8))); refused") }
        guard info.st_size <= maximumSize else { throw Error("\(path): larger than \(maximumSize) bytes; refused") }
        var bytes = [UInt8](repeating: 0, count: maximumSize + 1)
        var count = 0
        while count < bytes.count {
            let n = unsafe bytes.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw Error("\(path): cannot read: \(errnoDescription())") }
            if n == 0 { break }
            count += n
        }
        guard count <= maximumSize else { throw Error("\(path): larger than \(maximumSize) bytes; refused") }
        do {
            return try parse(bytes[..<count])
        } catch {
            throw Error("\(path): \(error.description)")
        }
    }

    /// Every `KEY=VALUE` of the text. A key set twice is an error (a shell would take the
    /// last one silently).
    public static func parse<C: Collection>(_ bytes: C) throws(Error) -> [String: String] where C.Element == UInt8 {
        var values: [String: String] = [:]
        var number = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            guard let (key, value) = try entry(Array(line), number: number) else { continue }
            guard values[key] == nil else { throw Error("line \(number): \(key) is set twice") }
            values[key] = value
        }
        return values
    }

    /// One line: nil for a blank or comment line.
    static func entry(_ line: [UInt8], number: Int) throws(Error) -> (String, String)? {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        guard let first = line.firstIndex(where: { !isSpace($0) }) else { return nil }
        if line[first] == UInt8(ascii: "#") { return nil }
        guard first == 0 else { throw Error("line \(number): starts with white space") }
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")), equals > 0,
              isNameStart(line[0]), line[1..<equals].allSatisfy(isNameByte) else {
            throw Error("line \(number): not KEY=VALUE")
        }
        let key = String(decoding: line[..<equals], as: UTF8.self)
        var value: [UInt8] = []
        var i = equals + 1
        while i < line.count, !isSpace(line[i]) {
            switch line[i] {
            case UInt8(ascii: "'"):
                guard let close = line[(i + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                    throw Error("line \(number): \(key): a quote is not closed")
                }
                value += line[(i + 1)..<close]
                i = close + 1
            case UInt8(ascii: "\\"):
                guard i + 1 < line.count, line[i + 1] == UInt8(ascii: "'") else {
                    throw Error("line \(number): \(key): a backslash outside quotes escapes only a quote")
                }
                value.append(UInt8(ascii: "'"))
                i += 2
            case let b where isBare(b):
                value.append(b)
                i += 1
            default:
                throw Error("line \(number): \(key): a character a shell would interpret; quote the value as provision.sh does")
            }
        }
        guard line[i...].allSatisfy(isSpace) else { throw Error("line \(number): \(key): more after the value") }
        guard !value.contains(0), let text = String(validating: value, as: UTF8.self) else {
            throw Error("line \(number): \(key): the value is not UTF-8 text")
        }
        return (key, text)
    }

    static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39)
    }

    /// What a value may hold unquoted: nothing a shell expands or splits on.
    static func isBare(_ b: UInt8) -> Bool {
        isNameByte(b) || "./:@%+,=-".utf8.contains(b)
    }
}
