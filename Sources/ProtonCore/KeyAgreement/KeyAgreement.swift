import ProtonCrypto

/// The keys an initiator needs from the other side: its identity key, a signed prekey that
/// also serves as the responder's first ratchet key, and optionally a one-time prekey.
public struct PrekeyBundle: Sendable, Equatable {
    public let identityKey: Ed25519.PublicKey
    public let signedPrekey: X25519.PublicKey
    public let oneTimePrekey: X25519.PublicKey?

    public init(identityKey: Ed25519.PublicKey, signedPrekey: X25519.PublicKey, oneTimePrekey: X25519.PublicKey?) {
        self.identityKey = identityKey
        self.signedPrekey = signedPrekey
        self.oneTimePrekey = oneTimePrekey
    }
}

/// Which way a relationship started; bound into the derived secret so a transcript from one
/// entry point cannot be replayed into another.
public enum AgreementContext: Sendable, Equatable {
    /// A QR invite (one-way or offline mutual).
    case invite
    /// A key package from a brokered directory.
    case keyPackage
    /// A live exchange (Bluetooth), bound to the pairing transcript's hash.
    case interactive(transcriptHash: [UInt8])

    /// HKDF's info: the protocol and its parameters (PQXDH section 2.2). A hybrid start has
    /// labels of its own: with 32-byte parts, a classical start with a one-time prekey and a
    /// hybrid one without have inputs of one length, which only the label tells apart.
    func info(hybrid: Bool) -> [UInt8] {
        let protocolName = hybrid ? "Proton PQXDH ML-KEM-768" : "Proton X3DH"
        switch self {
        case .invite: return Array("\(protocolName) invite".utf8)
        case .keyPackage: return Array("\(protocolName) key package".utf8)
        case .interactive(let hash): return Array("\(protocolName) interactive".utf8) + hash
        }
    }
}

/// X3DH (Signal, "The X3DH Key Agreement Protocol", revision 1): one core for all three entry
/// points. Identity keys are Ed25519 and enter the DH through libsodium's birational map to
/// X25519 (section 2.3 allows either encoding).
public enum KeyAgreement {
    public enum Error: Swift.Error, Equatable, Sendable {
        /// A DH gave an all-zero result: a low-order key.
        case invalidKey
    }

    /// Section 3.3: SK = KDF(DH1 || DH2 || DH3 [|| DH4]) with DH1 = DH(IK_A, SPK_B),
    /// DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B). With `kemSecret` (the
    /// secret of an ML-KEM encapsulation to the responder's KEM prekey), PQXDH revision 3
    /// section 3.3: SK = KDF(DH1 || DH2 || DH3 [|| DH4] || SS), under the hybrid labels, so
    /// that SK stays secret to whoever can break X25519 but not ML-KEM.
    public static func initiate(
        identity: Ed25519.PrivateKey, bundle: PrekeyBundle, ephemeral: X25519.PrivateKey, kemSecret: SecureBytes? = nil,
        context: AgreementContext
    ) throws(Error) -> SecureBytes {
        do {
            let peerIdentity = try bundle.identityKey.agreementKey()
            var parts = [
                try identity.agreementKey().sharedSecret(with: bundle.signedPrekey),
                try ephemeral.sharedSecret(with: peerIdentity),
                try ephemeral.sharedSecret(with: bundle.signedPrekey),
            ]
            if let oneTime = bundle.oneTimePrekey { parts.append(try ephemeral.sharedSecret(with: oneTime)) }
            return derive(parts, kemSecret: kemSecret, context: context)
        } catch {
            throw .invalidKey
        }
    }

    /// The responder's side of section 3.3, from the initial message's keys (and the secret
    /// the responder decapsulated from its KEM ciphertext, for a hybrid start).
    public static func respond(
        identity: Ed25519.PrivateKey, signedPrekey: X25519.PrivateKey, oneTimePrekey: X25519.PrivateKey?,
        peerIdentity: Ed25519.PublicKey, peerEphemeral: X25519.PublicKey, kemSecret: SecureBytes? = nil, context: AgreementContext
    ) throws(Error) -> SecureBytes {
        do {
            var parts = [
                try signedPrekey.sharedSecret(with: peerIdentity.agreementKey()),
                try identity.agreementKey().sharedSecret(with: peerEphemeral),
                try signedPrekey.sharedSecret(with: peerEphemeral),
            ]
            if let oneTime = oneTimePrekey { parts.append(try oneTime.sharedSecret(with: peerEphemeral)) }
            return derive(parts, kemSecret: kemSecret, context: context)
        } catch {
            throw .invalidKey
        }
    }

    /// Section 3.3: AD = Encode(IK_A) || Encode(IK_B), prefixed with a protocol label.
    public static func associatedData(initiator: Ed25519.PublicKey, responder: Ed25519.PublicKey) -> [UInt8] {
        Array("Proton".utf8) + initiator.rawRepresentation + responder.rawRepresentation
    }

    /// Section 2.2: KDF(KM) = HKDF(salt = zeros, IKM = F || KM) with F = 32 0xFF bytes for X25519
    /// (PQXDH section 2.2 keeps it, with the KEM secret last in KM).
    private static func derive(_ parts: [SecureBytes], kemSecret: SecureBytes?, context: AgreementContext) -> SecureBytes {
        let ikm = SecureBytes(prefix: [UInt8](repeating: 0xff, count: 32), concatenating: parts + (kemSecret.map { [$0] } ?? []))
        return try! HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: context.info(hybrid: kemSecret != nil), outputByteCount: 32)
    }
}
