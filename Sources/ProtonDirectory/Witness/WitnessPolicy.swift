import Foundation

/// A transparency log trust policy (c2sp.org/tlog-policy): the known logs, the known witnesses,
/// and the quorum, a witness or a group of witnesses and groups with a threshold, that must
/// have cosigned a checkpoint for it to be valid.
///
///     log <vkey> [<url>]
///     witness <name> <vkey> [<url>]
///     group <name> all|any|<k> <name>...
///     quorum <name>|none
public struct WitnessPolicy: Codable, Sendable, Equatable {
    public struct Witness: Codable, Sendable, Equatable {
        public var name: String
        /// The cosigner key, `<name>+<key ID>+<base64(0x04 || key)>`.
        public var key: String
        public var url: String?
    }

    public struct Group: Codable, Sendable, Equatable {
        public var name: String
        public var threshold: Int
        public var members: [String]
    }

    /// The limits this implementation keeps ("at least up to 32 logs, 32 witnesses, and 32
    /// groups" is what the specification recommends supporting).
    public static let maximumLogs = 32
    public static let maximumWitnesses = 32
    public static let maximumGroups = 32
    public static let maximumByteCount = 64 * 1024

    public var logs: [String]
    public var witnesses: [Witness]
    public var groups: [Group]
    /// A witness's or a group's name, or `none`.
    public var quorum: String

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
    }

    /// `witnesses` (cosigner keys) of which `k` must have cosigned: `--witness` and `--quorum`.
    public static func threshold(_ k: Int, of keys: [String]) throws(Invalid) -> WitnessPolicy {
        var text = keys.enumerated().map { "witness w\($0.offset + 1) \($0.element)\n" }.joined()
        text += "group quorum \(k) " + keys.indices.map { "w\($0 + 1)" }.joined(separator: " ") + "\nquorum quorum\n"
        return try WitnessPolicy(parsing: text)
    }

    public init(parsing text: String) throws(Invalid) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumByteCount else { throw Invalid(line: 0, reason: "over \(Self.maximumByteCount) bytes") }
        guard bytes.allSatisfy({ $0 == 0x09 || $0 == 0x0A || (0x20...0x7E).contains($0) || $0 >= 0x80 }) else {
            throw Invalid(line: 0, reason: "a control character other than tab and newline")
        }
        var logs: [String] = [], witnesses: [Witness] = [], groups: [Group] = []
        var quorum: String?
        var names: Set<String> = ["none"]
        var witnessKeys: Set<[UInt8]> = [], logKeys: Set<[UInt8]> = []
        // "Each defined name can be listed as a group member at most once", across all groups:
        // so each witness counts once towards the quorum, and the quorum is a tree.
        var listed: Set<String> = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            let items = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = items.first, !keyword.hasPrefix("#") else { continue }
            switch keyword {
            case "log":
                guard (2...3).contains(items.count) else { throw Invalid(line: line, reason: "log <vkey> [<url>]") }
                guard let key = try? NoteVerifier(verifierKey: items[1]) else { throw Invalid(line: line, reason: "not a log verifier key") }
                guard logKeys.insert(key.publicKey.rawRepresentation).inserted else { throw Invalid(line: line, reason: "a duplicate log") }
                logs.append(items[1])
                guard logs.count <= Self.maximumLogs else { throw Invalid(line: line, reason: "more than \(Self.maximumLogs) logs") }
            case "witness":
                guard (3...4).contains(items.count) else { throw Invalid(line: line, reason: "witness <name> <vkey> [<url>]") }
                guard let key = try? CosignatureVerifier(verifierKey: items[2]) else {
                    throw Invalid(line: line, reason: "not a cosigner key (type 0x04)")
                }
                guard names.insert(items[1]).inserted else { throw Invalid(line: line, reason: "the name \(items[1]) is defined twice") }
                guard witnessKeys.insert(key.publicKey.rawRepresentation).inserted else { throw Invalid(line: line, reason: "a duplicate witness") }
                witnesses.append(Witness(name: items[1], key: items[2], url: items.count == 4 ? items[3] : nil))
                guard witnesses.count <= Self.maximumWitnesses else { throw Invalid(line: line, reason: "more than \(Self.maximumWitnesses) witnesses") }
            case "group":
                guard items.count >= 4 else { throw Invalid(line: line, reason: "group <name> all|any|<k> <name>...") }
                let members = Array(items.dropFirst(3))
                guard Set(members).count == members.count else { throw Invalid(line: line, reason: "a member is listed twice") }
                for member in members where member == "none" || !names.contains(member) {
                    throw Invalid(line: line, reason: "\(member) is not a witness or group defined above")
                }
                for member in members where !listed.insert(member).inserted {
                    throw Invalid(line: line, reason: "\(member) is already a member of another group")
                }
                let threshold: Int
                switch items[2] {
                case "all": threshold = members.count
                case "any": threshold = 1
                default:
                    guard let k = AddCheckpointRequest.decimal(Substring(items[2])).map(Int.init), (1...members.count).contains(k) else {
                        throw Invalid(line: line, reason: "the threshold must be all, any or a decimal k with 1 <= k <= \(members.count)")
                    }
                    threshold = k
                }
                guard names.insert(items[1]).inserted else { throw Invalid(line: line, reason: "the name \(items[1]) is defined twice") }
                groups.append(Group(name: items[1], threshold: threshold, members: members))
                guard groups.count <= Self.maximumGroups else { throw Invalid(line: line, reason: "more than \(Self.maximumGroups) groups") }
            case "quorum":
                guard items.count == 2 else { throw Invalid(line: line, reason: "quorum <name>") }
                guard quorum == nil else { throw Invalid(line: line, reason: "a second quorum line") }
                guard names.contains(items[1]) else { throw Invalid(line: line, reason: "\(items[1]) is not defined above") }
                quorum = items[1]
            default:
                throw Invalid(line: line, reason: "unknown keyword \(keyword)")
            }
        }
        guard let quorum else { throw Invalid(line: 0, reason: "no quorum line") }
        self.logs = logs
        self.witnesses = witnesses
        self.groups = groups
        self.quorum = quorum
    }

    /// Whether the witnesses named in `cosigned` satisfy the quorum.
    public func isSatisfied(byWitnessesNamed cosigned: Set<String>) -> Bool {
        func witnessed(_ name: String) -> Bool {
            if name == "none" { return true }
            if witnesses.contains(where: { $0.name == name }) { return cosigned.contains(name) }
            guard let group = groups.first(where: { $0.name == name }) else { return false }
            return group.members.filter(witnessed).count >= group.threshold
        }
        return witnessed(quorum)
    }

    /// The names of the witnesses whose valid cosignature of `note` is among its lines.
    public func cosigners(of note: SignedNote) -> Set<String> {
        Set(
            witnesses.filter { witness in
                guard let key = try? CosignatureVerifier(verifierKey: witness.key) else { return false }
                return note.signatures.contains { key.timestamp(of: $0, checkpointText: note.text) != nil }
            }.map(\.name))
    }

    /// The witnesses with a line in `note` under their name and key ID that does not verify:
    /// the note should then be refused whole (c2sp.org/signed-note: a signature from a known
    /// key that fails makes the note invalid).
    public func invalidCosigners(of note: SignedNote) -> [String] {
        witnesses.filter { witness in
            guard let key = try? CosignatureVerifier(verifierKey: witness.key) else { return false }
            return note.signatures.contains { $0.keyName == key.name && $0.keyID == key.keyID && key.timestamp(of: $0, checkpointText: note.text) == nil }
        }.map(\.name)
    }

    /// The quorum in words, for the one sentence of a refusal.
    public var description: String {
        quorum == "none" ? "no cosignatures" : "the quorum \(quorum) of \(witnesses.count) witnesses"
    }
}
