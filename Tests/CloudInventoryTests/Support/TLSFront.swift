import CloudInventory
import Foundation

/// HTTPS in front of the local AWS world: `Tests/Support/tls_front.py` terminates TLS on
/// loopback and forwards to moto. The certificates are made here with the `openssl` CLI, in
/// a temporary directory, once per test process:
///   - `ca.pem`: the test CA, the one to name in `AWS_CA_BUNDLE`;
///   - `good`: for localhost and 127.0.0.1, signed by the test CA;
///   - `selfSigned`: for localhost, signed by itself;
///   - `unknownCA`: for localhost, signed by a CA nobody trusts;
///   - `wrongHost`: signed by the test CA, but for another host name.
struct TLSFront: Sendable {
    let caBundle: String
    let good: Int
    let selfSigned: Int
    let unknownCA: Int
    let wrongHost: Int

    func url(_ port: Int) -> String { "https://localhost:\(port)" }

    static func shared() async throws -> TLSFront {
        try await Holder.shared.front()
    }

    private actor Holder {
        static let shared = Holder()
        private var front: TLSFront?
        private var keepalive: Pipe?
        private var process: Process?

        func front() async throws -> TLSFront {
            if let front { return front }
            let world = try await World.shared()
            let dir = Harness.temporaryDirectory()
            try TLSFront.makeCertificates(in: dir)
            let backend = try URLParts(world.motoURL)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Harness.python)
            let pairs = ["good", "self", "unknown", "wrong"].flatMap { ["--cert", dir.path + "/\($0).pem:" + dir.path + "/\($0).key"] }
            process.arguments = Harness.pythonArguments([Harness.support.appendingPathComponent("tls_front.py").path,
                                                         "--backend", "\(backend.host):\(backend.port ?? 80)"] + pairs)
            process.environment = Harness.baseEnvironment()
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            keepalive = input
            self.process = process
            // One JSON line once every listener is up; EOF (empty) if it failed to start.
            let line = output.fileHandleForReading.availableLineOrEOF()
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let ports = object["ports"] as? [Int], ports.count == 4 else {
                throw HarnessError("the TLS front did not start (Tests/Support/tls_front.py): \(line)")
            }
            let front = TLSFront(caBundle: dir.path + "/ca.pem", good: ports[0], selfSigned: ports[1], unknownCA: ports[2], wrongHost: ports[3])
            self.front = front
            return front
        }
    }

    /// A test CA, and the four server certificates above. EC keys: quick to make.
    static func makeCertificates(in dir: URL) throws {
        let d = dir.path
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func openssl(_ args: [String]) throws {
            let r = try runProcess("/usr/bin/openssl", args, environment: Harness.baseEnvironment(), timeout: 60)
            guard r.status == 0 else { throw HarnessError("openssl \(args.first ?? ""): \(r.stderr)") }
        }
        func ca(_ name: String) throws {
            try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).pem", "-days", "2",
                         "-subj", "/CN=inventory-poller \(name)", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        func server(_ name: String, signer: String, names: String) throws {
            try Data("subjectAltName=\(names)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
                .write(to: dir.appendingPathComponent("\(name).ext"))
            try openssl(["req", "-new"] + key + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", "/CN=\(name)"])
            try openssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/\(signer).pem", "-CAkey", "\(d)/\(signer).key",
                         "-CAcreateserial", "-out", "\(d)/\(name).pem", "-days", "2", "-extfile", "\(d)/\(name).ext"])
        }
        try ca("ca")
        try ca("otherca")
        try server("good", signer: "ca", names: "DNS:localhost,IP:127.0.0.1")
        try server("unknown", signer: "otherca", names: "DNS:localhost,IP:127.0.0.1")
        try server("wrong", signer: "ca", names: "DNS:wrong-host.invalid")
        try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/self.key", "-out", "\(d)/self.pem", "-days", "2",
                     "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    }
}

extension FileHandle {
    /// Reads up to the first newline (or EOF), one byte at a time: the child writes one line.
    func availableLineOrEOF() -> String {
        var bytes: [UInt8] = []
        while bytes.count < 4096 {
            guard let byte = try? read(upToCount: 1), let b = byte.first else { break }
            if b == UInt8(ascii: "\n") { break }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
