import Foundation
import ProtonCrypto

/// Seals the profile's secrets at rest when a passphrase protects it: XChaCha20-Poly1305 under
/// a key derived from the passphrase with Argon2id, a random nonce per value, and associated
/// data naming the column and row, so a sealed value moved to another row or column does not
/// open. Without a passphrase the values are stored as they are.
struct SecretSealer: Sendable {
    /// What a sealed value is; part of its associated data.
    enum Purpose: String {
        case keyCheck = "profile.key_check"
        case identitySeed = "personas.identity_seed"
        case protonState = "protons.state"
        case skippedHeaderKey = "skipped_keys.header_key"
        case skippedMessageKey = "skipped_keys.message_key"
        case messageBody = "messages.body"
        case outboxRoutes = "outbox.routes"
        case invitePrekey = "pending_invites.prekey_secret"
        case inviteAuthSeed = "pending_invites.auth_seed"
        case spareAuthSeed = "spare_addresses.auth_seed"
        case keyPackagePrekey = "key_packages.signed_prekey_secret"
        case keyPackageAuthSeed = "key_packages.auth_seed"
        case oneTimePrekey = "one_time_prekeys.secret"
        case keyPackageKEMSeed = "key_packages.kem_seed"
        case oneTimeKEMSeed = "one_time_prekeys.kem_seed"
    }

    static let plain = SecretSealer(key: nil)

    /// The first byte of every sealed value, so a later scheme can be told apart.
    private static let sealedVersion: UInt8 = 1
    private static let keyCheckPlaintext = Array("Proton profile key check".utf8)

    private let key: XChaCha20Poly1305.Key?

    private init(key: XChaCha20Poly1305.Key?) {
        self.key = key
    }

    var isProtected: Bool { key != nil }

    /// Derives the key from a passphrase (slow by design: Argon2id at `cost`).
    static func derive(passphrase: SecureBytes, salt: [UInt8], cost: Argon2id.Cost) throws(StoreError) -> SecretSealer {
        do {
            let key = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: cost)
            return SecretSealer(key: try XChaCha20Poly1305.Key(key))
        } catch {
            throw .corrupt(what: "passphrase parameters")
        }
    }

    /// A value whose opening proves that the key was derived from the right passphrase.
    func makeKeyCheck() -> Data {
        seal(Self.keyCheckPlaintext, .keyCheck, row: "profile")
    }

    func verify(keyCheck: Data) throws(StoreError) {
        do {
            guard try open(keyCheck, .keyCheck, row: "profile") == Self.keyCheckPlaintext else { throw StoreError.wrongPassphrase }
        } catch {
            throw .wrongPassphrase
        }
    }

    func seal(_ bytes: [UInt8], _ purpose: Purpose, row: String) -> Data {
        guard let key else { return Data(bytes) }
        let nonce = SystemRandom().bytes(XChaCha20Poly1305.nonceByteCount)
        // The nonce has the right length, so sealing cannot fail.
        let sealed = try! XChaCha20Poly1305.seal(bytes, using: key, nonce: nonce, authenticating: Self.associatedData(purpose, row))
        var out = Data(capacity: 1 + nonce.count + sealed.count)
        out.append(Self.sealedVersion)
        out.append(contentsOf: nonce)
        out.append(contentsOf: sealed)
        return out
    }

    func seal(_ secret: SecureBytes, _ purpose: Purpose, row: String) -> Data {
        var bytes = secret.unsafeExportedBytes()
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        return seal(bytes, purpose, row: row)
    }

    func open(_ stored: Data, _ purpose: Purpose, row: String) throws(StoreError) -> [UInt8] {
        guard let key else { return Array(stored) }
        let bytes = Array(stored)
        let header = 1 + XChaCha20Poly1305.nonceByteCount
        guard bytes.count >= header + XChaCha20Poly1305.tagByteCount, bytes[0] == Self.sealedVersion else {
            throw .corrupt(what: purpose.rawValue)
        }
        do {
            return try XChaCha20Poly1305.open(
                Array(bytes[header...]), using: key, nonce: Array(bytes[1..<header]),
                authenticating: Self.associatedData(purpose, row))
        } catch {
            throw .corrupt(what: purpose.rawValue)
        }
    }

    func openSecret(_ stored: Data, _ purpose: Purpose, row: String) throws(StoreError) -> SecureBytes {
        var bytes = try open(stored, purpose, row: row)
        return SecureBytes(consuming: &bytes)
    }

    /// An Ed25519 key from its sealed 32-byte seed; the opened seed is zeroed. `what` names it in
    /// the `corrupt` error.
    func openSigningKey(_ stored: Data, _ purpose: Purpose, row: String, what: String) throws(StoreError) -> Ed25519.PrivateKey {
        var seed = try open(stored, purpose, row: row)
        defer { seed.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        guard let key = try? Ed25519.PrivateKey(seed: &seed) else { throw .corrupt(what: what) }
        return key
    }

    /// An X25519 private key from its sealed secret; `what` names it in the `corrupt` error.
    func openAgreementKey(_ stored: Data, _ purpose: Purpose, row: String, what: String) throws(StoreError) -> X25519.PrivateKey {
        let secret = try openSecret(stored, purpose, row: row)
        guard let key = try? X25519.PrivateKey(secretBytes: secret) else { throw .corrupt(what: what) }
        return key
    }

    func openKEMKey(_ stored: Data, _ purpose: Purpose, row: String, what: String) throws(StoreError) -> MLKEM.PrivateKey {
        let secret = try openSecret(stored, purpose, row: row)
        guard let key = try? MLKEM.PrivateKey(seed: secret) else { throw .corrupt(what: what) }
        return key
    }

    private static func associatedData(_ purpose: Purpose, _ row: String) -> [UInt8] {
        Array("Proton store v1\u{0}\(purpose.rawValue)\u{0}\(row)".utf8)
    }
}
