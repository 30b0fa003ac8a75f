import Foundation
import ProtonCrypto

@testable import ProtonDirectory

enum Hex {
    static func bytes(_ text: String) -> [UInt8] {
        let digits = Array(normalized(text).utf8)
        precondition(digits.count % 2 == 0)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    static func string(_ bytes: [UInt8]) -> String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    static func normalized(_ text: String) -> String {
        String(text.filter { !$0.isWhitespace }).lowercased()
    }
}

/// Keys from fixed seeds: seed = SHA-256(label), so every vector is reproducible.
enum TestKeys {
    static func ed25519(_ label: String) -> Ed25519.PrivateKey {
        var seed = SHA256.hash(Array(label.utf8))
        return try! Ed25519.PrivateKey(seed: &seed)
    }

    static let directoryName = "directory.example.org"
    static let directory = try! DirectoryKey(name: directoryName, privateKey: ed25519("proton/vectors/directory-key"))
    static let otherDirectory = try! DirectoryKey(name: directoryName, privateKey: ed25519("proton/vectors/other-directory-key"))
    static let alice = ed25519("proton/vectors/persona-alice")
    static let bob = ed25519("proton/vectors/persona-bob")
}

/// 2027-01-15T08:00:00Z, the clock of the wire-format vectors.
let testNow = Date(timeIntervalSince1970: 1_800_000_000)


func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("proton-directory-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
