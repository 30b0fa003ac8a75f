import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the client keeps about attesting directories, in `directories.json` in the profile
/// (mode 0600, written whole and renamed): the directories pinned by key, the last checkpoint
/// seen from each (the audit's memory), the evidence of any fork, and the attestation bundles
/// fetched for contacts' identity keys, so that `proton verify` works offline.
struct DirectoryState: Codable {
    static let fileName = "directories.json"
    /// Bounds on what a hostile directory can make us store.
    static let maximumBundles = 10_000
    static let maximumEvidence = 16

    struct Pinned: Codable {
        var url: String
        var namespace: String
        /// The C2SP verifier key, `<origin>+<key id>+<base64 key>`.
        var verifierKey: String
        var added: Date
        /// The newest signed checkpoint verified and proven consistent with every earlier one.
        var checkpoint: String?
        var checkpointSeen: Date?
        var evidence: [ForkEvidence]

        func verifier() throws -> NoteVerifier {
            do { return try NoteVerifier(verifierKey: verifierKey) } catch {
                throw CommandFailure(status: .dataError, message: "The pinned key of \(url) in \(DirectoryState.fileName) is damaged: \(error).")
            }
        }

        var origin: String { (try? verifier().name) ?? "" }

        /// The stored checkpoint, which was verified when stored.
        func storedCheckpoint() throws -> Checkpoint? {
            guard let checkpoint else { return nil }
            do { return try SignedCheckpoint(verifying: checkpoint, verifier: try verifier()).checkpoint } catch {
                throw CommandFailure(status: .dataError, message: "The stored checkpoint of \(url) does not verify: \(error).")
            }
        }
    }

    /// Two signed checkpoints that cannot both be the directory's one log: proof to show others.
    struct ForkEvidence: Codable {
        var detected: Date
        var reason: String
        var stored: String
        var new: String
    }

    struct StoredBundle: Codable {
        /// The identity key the bundle attests, base64url.
        var identityKey: String
        var name: String
        var namespace: String
        /// `AttestationBundle` wire format, base64url.
        var bundle: String
        var fetched: Date

        var qualifiedName: String { name + "@" + namespace }

        func decoded() throws -> AttestationBundle {
            guard let bytes = try? Base64URL.decode(bundle, limit: AttestationBundle.maximumByteCount) else {
                throw CommandFailure(status: .dataError, message: "A stored attestation for \(qualifiedName) is not base64url.")
            }
            do { return try AttestationBundle(decoding: bytes) } catch {
                throw CommandFailure(status: .dataError, message: "A stored attestation for \(qualifiedName) is damaged: \(error).")
            }
        }
    }

    /// Names registered from this profile, for `proton requests`.
    struct Registered: Codable, Equatable {
        var name: String
        var namespace: String
        /// The persona's identity key, base64url.
        var identityKey: String

        var qualifiedName: String { name + "@" + namespace }
    }

    var directories: [Pinned] = []
    var bundles: [StoredBundle] = []
    var registered: [Registered]? = []
    /// One `BundleVerifier` per pinned key for this command's run, so that listing many
    /// contacts verifies each directory checkpoint's signature once. Not stored.
    private let verifiers = Verifiers()

    enum CodingKeys: String, CodingKey {
        case directories, bundles, registered
    }

    private final class Verifiers {
        var byKey: [String: BundleVerifier] = [:]
    }

    // MARK: - File

    static func url(in profile: URL) -> URL { profile.appendingPathComponent(fileName) }

    static func load(from profile: URL) throws -> DirectoryState {
        let url = url(in: profile)
        guard let data = FileManager.default.contents(atPath: url.path) else { return DirectoryState() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(DirectoryState.self, from: data) } catch {
            throw CommandFailure(status: .dataError, message: "\(url.path) is not a valid directories file.")
        }
    }

    func save(to profile: URL) throws {
        let url = Self.url(in: profile)
        do throws(AgentError) { try JSONFile.write(self, to: url) } catch {
            throw CommandFailure(status: .ioError, message: error.description.sentence)
        }
    }

    // MARK: - Queries

    func directory(namespace: String) -> Pinned? { directories.first { $0.namespace == namespace } }

    func index(of url: String) -> Int? { directories.firstIndex { $0.url == url } }

    /// The pinned directory for `namespace`, or a sentence saying how to pin one.
    func requireDirectory(namespace: String) throws -> Pinned {
        guard let pinned = directory(namespace: namespace) else {
            throw CommandFailure(
                status: .usage, message: "No directory is pinned for \(namespace); pin one with 'proton directory add URL --key KEY'.")
        }
        return pinned
    }

    /// Keeps the newest bundle per identity key and name.
    mutating func store(_ bundle: AttestationBundle, now: Date) {
        let attestation = bundle.attestation
        let key = Base64URL.encode(attestation.identityKey.rawRepresentation)
        bundles.removeAll { $0.identityKey == key && $0.name == attestation.name && $0.namespace == attestation.namespace }
        bundles.append(
            StoredBundle(
                identityKey: key, name: attestation.name, namespace: attestation.namespace, bundle: Base64URL.encode(bundle.encoded()),
                fetched: now))
        if bundles.count > Self.maximumBundles { bundles.removeFirst(bundles.count - Self.maximumBundles) }
    }

    /// A stored attestation of `identityKey` that verifies offline now, against its pinned
    /// directory: the validity window, and inclusion in a checkpoint signed by the directory's
    /// pinned key (`BundleVerifier`: each checkpoint's signature is verified once per run).
    struct Verified {
        let stored: StoredBundle
        let bundle: AttestationBundle
        let checkpoint: Checkpoint
        let pinned: Pinned
    }

    func verifiedAttestations(of identityKey: Ed25519.PublicKey, now: Date) -> (verified: [Verified], failures: [String]) {
        let key = Base64URL.encode(identityKey.rawRepresentation)
        var verified = [Verified]()
        var failures = [String]()
        for stored in bundles where stored.identityKey == key {
            guard let pinned = directory(namespace: stored.namespace) else {
                failures.append("\(stored.qualifiedName): no directory is pinned for \(stored.namespace)")
                continue
            }
            do {
                let bundle = try stored.decoded()
                var verifier = try verifiers.byKey[pinned.verifierKey] ?? BundleVerifier(directory: pinned.verifier())
                defer { verifiers.byKey[pinned.verifierKey] = verifier }
                let checkpoint = try verifier.verify(bundle, binding: identityKey, now: now)
                guard bundle.attestation.name == stored.name, bundle.attestation.namespace == stored.namespace else {
                    failures.append("\(stored.qualifiedName): the attestation is about another name")
                    continue
                }
                verified.append(Verified(stored: stored, bundle: bundle, checkpoint: checkpoint, pinned: pinned))
            } catch let failure as CommandFailure {
                failures.append("\(stored.qualifiedName): \(failure.message)")
            } catch {
                failures.append("\(stored.qualifiedName): \(error)")
            }
        }
        return (verified, failures)
    }

    /// The attestation a persona presents in an invite or a pairing: `choice` (NAME@NS) when
    /// given, which must be stored for the persona's key and verify now; otherwise the one
    /// that verifies, if there is exactly one, else none.
    func bundleToPresent(for identityKey: Ed25519.PublicKey, persona: String, choice: String?, now: Date) throws -> AttestationBundle? {
        let (verified, failures) = verifiedAttestations(of: identityKey, now: now)
        guard let choice else { return verified.count == 1 ? verified[0].bundle : nil }
        if let chosen = verified.first(where: { $0.stored.qualifiedName == choice }) { return chosen.bundle }
        if let failure = failures.first(where: { $0.hasPrefix(choice + ":") }) {
            throw CommandFailure(
                status: .dataError,
                message: "The stored attestation of \(failure); register the name again with 'proton directory register \(choice) --persona \(persona)'.")
        }
        throw CommandFailure(
            status: .usage,
            message: "No attestation of \(choice) is stored for \(persona)'s key; register it with 'proton directory register \(choice) --persona \(persona)'"
                + (verified.isEmpty ? "." : " or choose one of \(verified.map(\.stored.qualifiedName).joined(separator: ", "))."))
    }

    /// Checks an attestation bundle the holder of `peerKey` presented (in an invite or a
    /// pairing) against the directories pinned here. A verified one is stored exactly as
    /// 'proton directory lookup' stores one, so 'proton verify' and 'proton contacts' see it.
    mutating func checkPresented(_ bytes: [UInt8]?, by peerKey: Ed25519.PublicKey, now: Date) -> PresentedAttestationCheck {
        guard let bytes else { return PresentedAttestationCheck(presented: false, verifiedName: nil, reason: "no attestation was presented") }
        do {
            let (bundle, _) = try AttestationBundle.verifyPresented(bytes, by: peerKey, now: now) { namespace in
                try? directory(namespace: namespace)?.verifier()
            }
            store(bundle, now: now)
            return PresentedAttestationCheck(presented: true, verifiedName: bundle.attestation.qualifiedName, reason: nil)
        } catch {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: error.description)
        }
    }

    /// The verified name for a contact's key, for `proton contacts`.
    func verifiedName(of identityKey: Ed25519.PublicKey, now: Date) -> String? {
        verifiedAttestations(of: identityKey, now: now).verified.last?.stored.qualifiedName
    }
}

extension QualifiedName {
    /// `NAME` or `NAME@NS` as `name@namespace`, under the same rules as `resolve`.
    static func qualified(_ text: String, in state: DirectoryState) throws -> String {
        let (name, pinned) = try resolve(text, in: state)
        return name + "@" + pinned.namespace
    }
}

/// What an invite or a pairing proved about the peer's name, for the commands' output.
struct PresentedAttestationCheck: Encodable {
    /// Whether the peer presented an attestation at all.
    let presented: Bool
    /// `name@namespace`, when the attestation verified.
    let verifiedName: String?
    /// Why the contact stays unverified, otherwise.
    let reason: String?

    /// Checks what the holder of `peerKey` presented against the profile's pinned directories
    /// and stores it when it verifies. The relationship is already stored: nothing here fails it.
    static func checkAndStore(_ bytes: [UInt8]?, by peerKey: Ed25519.PublicKey, profile: URL) -> PresentedAttestationCheck {
        guard bytes != nil else { return PresentedAttestationCheck(presented: false, verifiedName: nil, reason: nil) }
        do {
            var state = try DirectoryState.load(from: profile)
            let check = state.checkPresented(bytes, by: peerKey, now: Date())
            if check.verifiedName != nil { try state.save(to: profile) }
            return check
        } catch let failure as CommandFailure {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: failure.message)
        } catch {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: "\(error)")
        }
    }

    /// One line for a person.
    var sentence: String {
        if let verifiedName { return "Verified: the directory for \(verifiedName.split(separator: "@").last ?? "") attests this contact's key as \(verifiedName)." }
        return "Unverified: \(reason ?? "no attestation was presented")."
    }
}

extension Output {
    /// "1 entry", "7 entries".
    static func entries(_ count: UInt64) -> String { "\(count) \(count == 1 ? "entry" : "entries")" }
}
