import Foundation
import ProtonCrypto

/// The three ways a relationship starts, over one X3DH core: from an invite (QR), from a key
/// package (brokered directory), and from an interactive exchange (Bluetooth pairing).
extension Proton {
    /// The initiator's half: runs X3DH against `bundle`, creates the proton, and seals the first
    /// message — carrying our display name and our routes for this peer — into an initial
    /// message for `peerRoute`.
    ///
    /// With `kem` (a hybrid key package's key to encapsulate to), PQXDH: the KEM secret goes into
    /// the key derivation and the sealed identity. `encapsulation` replays a recorded one (test
    /// vectors); otherwise a fresh one is made.
    static func initiate(
        persona: Persona, bundle: PrekeyBundle, kem: MLKEM.PublicKey? = nil, encapsulation: MLKEM.Encapsulation? = nil,
        context: AgreementContext, peerRoute: Route?, ourRoutes: [OwnRoute], body: [UInt8], policy: RotationPolicy,
        offersFirstKEMKey: Bool = true, now: Date, random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        guard ourRoutes.count <= maximumPeerRoutes else { throw .tooManyRoutes(limit: maximumPeerRoutes) }
        let ephemeral = X25519.PrivateKey(using: random)
        let encapsulated = kem.map { (key: $0, encapsulation: encapsulation ?? $0.encapsulate()) }
        let secret: SecureBytes
        do {
            secret = try KeyAgreement.initiate(
                identity: persona.identityKey, bundle: bundle, ephemeral: ephemeral, kemSecret: encapsulated?.encapsulation.sharedSecret,
                context: context)
        } catch { throw .keyAgreementFailed }
        let ratchet: DoubleRatchet
        do {
            ratchet = try DoubleRatchet(
                initiating: RatchetSeed(sharedSecret: secret), peerRatchetKey: bundle.signedPrekey, random: random,
                offersFirstKEMKey: offersFirstKEMKey)
        } catch { throw .keyAgreementFailed }
        var proton = Proton(
            role: .initiator, ourIdentity: persona.publicIdentity, peerIdentity: bundle.identityKey, policy: policy,
            ratchet: ratchet, now: now)
        if let peerRoute { proton.peerRoutes = [PeerRoute(route: peerRoute, addedAt: now)] }
        proton.introduce(persona: persona, routes: ourRoutes, now: now)
        let first = try proton.seal(body, now: now, random: random)
        // A hybrid start's KEM part takes room from its first message (`InitialMessage`): its
        // ratchet message cannot be of the largest padding bucket.
        if encapsulated != nil, first.ciphertext.count > InitialMessage.maximumHybridRatchetMessageByteCount {
            let bucket = DoubleRatchet.paddingBuckets.last {
                DoubleRatchet.ciphertextByteCount(bucket: $0) <= InitialMessage.maximumHybridRatchetMessageByteCount
            } ?? 0
            throw .bodyTooLarge(
                limit: max(0, bucket - 1 - proton.ratchet.sendingKEMFields.byteCount - ProtonPayload.overhead(updates: proton.pendingUpdates)))
        }
        let initial: InitialMessage
        do {
            initial = try InitialMessage(
                initiator: persona.publicIdentity, ephemeral: ephemeral, bundle: bundle, kem: encapsulated, ratchetMessage: first.ciphertext)
        } catch { throw .keyAgreementFailed }
        return (proton, initial)
    }

    /// Starts a relationship from a scanned or pasted invite. An invite has no room for a KEM
    /// key, so the start is classical and the ratchet's KEM steps make it post-quantum: our
    /// first message offers a KEM key, and the inviter's first reply (which answers it) and
    /// everything after depend on its secret. `offersFirstKEMKey: false` keeps the offer out of
    /// a first message that must stay small (an offline reply's QR code): the inviter's first
    /// reply then offers, and our next message on answers (docs/qr.md, "Post-quantum protection").
    public static func initiate(
        persona: Persona, invite: Invite, ourRoutes: [OwnRoute], body: [UInt8] = [], policy: RotationPolicy = .init(),
        offersFirstKEMKey: Bool = true, now: Date, random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        guard !invite.isExpired(now: now) else { throw .expired }
        return try initiate(
            persona: persona, bundle: invite.bundle, context: .invite, peerRoute: invite.route, ourRoutes: ourRoutes,
            body: body, policy: policy, offersFirstKEMKey: offersFirstKEMKey, now: now, random: random)
    }

    /// Starts a relationship from a key package a directory vended (its first one-time prekey,
    /// if any, is used). A hybrid package starts a hybrid relationship (PQXDH), to its first
    /// one-time ML-KEM key or else its last-resort one; a classical package is refused when
    /// `requireHybrid`.
    public static func initiate(
        persona: Persona, keyPackage: KeyPackage, ourRoutes: [OwnRoute], body: [UInt8] = [],
        policy: RotationPolicy = .init(), requireHybrid: Bool = false, now: Date, random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        try initiate(
            persona: persona, keyPackage: keyPackage, ourRoutes: ourRoutes, body: body, policy: policy, requireHybrid: requireHybrid,
            replaying: nil, now: now, random: random)
    }

    /// The same, with a recorded ML-KEM encapsulation instead of a fresh one (test vectors,
    /// replayed pairings): never for a real start, whose secret must be fresh.
    package static func initiate(
        persona: Persona, keyPackage: KeyPackage, ourRoutes: [OwnRoute], body: [UInt8] = [],
        policy: RotationPolicy = .init(), requireHybrid: Bool = false, replaying encapsulation: MLKEM.Encapsulation?, now: Date,
        random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        guard now < keyPackage.expires else { throw .expired }
        guard keyPackage.isHybrid || !requireHybrid else { throw .classicalStartRefused }
        return try initiate(
            persona: persona, bundle: keyPackage.bundle, kem: keyPackage.kemKeyForStart, encapsulation: encapsulation,
            context: .keyPackage, peerRoute: keyPackage.route, ourRoutes: ourRoutes, body: body, policy: policy, now: now,
            random: random)
    }

    /// Starts a relationship inside a live, authenticated exchange: the key package came over
    /// the pairing channel, and the pairing transcript's hash is bound into the secret.
    public static func initiate(
        persona: Persona, peerKeyPackage: KeyPackage, transcriptHash: [UInt8], ourRoutes: [OwnRoute],
        policy: RotationPolicy = .init(), requireHybrid: Bool = false, now: Date, random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        try initiate(
            persona: persona, peerKeyPackage: peerKeyPackage, transcriptHash: transcriptHash, ourRoutes: ourRoutes, policy: policy,
            requireHybrid: requireHybrid, replaying: nil, now: now, random: random)
    }

    /// The same, with a recorded ML-KEM encapsulation (the pairing fuzz targets' replays).
    package static func initiate(
        persona: Persona, peerKeyPackage: KeyPackage, transcriptHash: [UInt8], ourRoutes: [OwnRoute],
        policy: RotationPolicy = .init(), requireHybrid: Bool = false, replaying encapsulation: MLKEM.Encapsulation?, now: Date,
        random: some RandomSource
    ) throws(Error) -> (proton: Proton, initialMessage: InitialMessage) {
        guard peerKeyPackage.isHybrid || !requireHybrid else { throw .classicalStartRefused }
        return try initiate(
            persona: persona, bundle: peerKeyPackage.bundle, kem: peerKeyPackage.kemKeyForStart, encapsulation: encapsulation,
            context: .interactive(transcriptHash: transcriptHash), peerRoute: peerKeyPackage.route, ourRoutes: ourRoutes, body: [],
            policy: policy, now: now, random: random)
    }

    /// The responder's half: completes X3DH with the prekeys the initial message names, opens
    /// its first message, and creates the proton. `firstContactRoute` is the invite's or key
    /// package's route the message arrived at; `ourRoutes` are fresh routes for this peer.
    ///
    /// `kemPrekeys`: a hybrid key package's ML-KEM keys the message may name (the last-resort
    /// one and the one-time one of `oneTimePrekey`); when given, a message without the KEM part
    /// is refused (`classicalStartRefused`: it was stripped), as is one naming another key.
    public static func respond(
        persona: Persona, initialMessage: InitialMessage, signedPrekey: X25519.PrivateKey,
        oneTimePrekey: X25519.PrivateKey?, kemPrekeys: [MLKEM.PrivateKey] = [], context: AgreementContext, firstContactRoute: OwnRoute?,
        ourRoutes: [OwnRoute], policy: RotationPolicy = .init(), now: Date, random: some RandomSource
    ) throws(Error) -> (proton: Proton, message: ReceivedMessage) {
        guard ourRoutes.count <= maximumPeerRoutes else { throw .tooManyRoutes(limit: maximumPeerRoutes) }
        guard signedPrekey.publicKey == initialMessage.signedPrekey,
            oneTimePrekey?.publicKey == initialMessage.oneTimePrekey
        else { throw .prekeyMismatch }
        var kemSecret: SecureBytes?
        switch (initialMessage.kem, kemPrekeys.isEmpty) {
        case (nil, true): break
        case (nil, false): throw .classicalStartRefused
        case (.some, true): throw .prekeyMismatch
        case (.some(let part), false):
            guard let key = kemPrekeys.first(where: { InitialMessage.KEMPart.keyID(of: $0.publicKey) == part.keyID }) else {
                throw .prekeyMismatch
            }
            do { kemSecret = try key.decapsulate(part.ciphertext) } catch { throw .keyAgreementFailed }
        }
        let peerIdentity: Ed25519.PublicKey
        do { peerIdentity = try initialMessage.initiatorIdentity(using: signedPrekey, kemSecret: kemSecret) } catch { throw .ratchet(error) }
        let secret: SecureBytes
        do {
            secret = try KeyAgreement.respond(
                identity: persona.identityKey, signedPrekey: signedPrekey, oneTimePrekey: oneTimePrekey,
                peerIdentity: peerIdentity, peerEphemeral: initialMessage.ephemeralKey, kemSecret: kemSecret, context: context)
        } catch { throw .keyAgreementFailed }
        let seed: RatchetSeed
        do { seed = try RatchetSeed(sharedSecret: secret) } catch { throw .keyAgreementFailed }
        var proton = Proton(
            role: .responder, ourIdentity: persona.publicIdentity, peerIdentity: peerIdentity, policy: policy,
            ratchet: DoubleRatchet(responding: seed, ourRatchetKey: signedPrekey), now: now)
        let received = try proton.openUnchecked(initialMessage.ratchetMessage, now: now, random: random)
        proton.markPresented(through: received.sequence)
        if let firstContactRoute {
            // A key package's address is shared by everyone who fetched the package, so no one
            // relationship may retire it at the service; an invite's (single-use) address and a
            // pairing's are this relationship's alone, and retiring or blocking closes them there.
            let isShared = if case .keyPackage = context { true } else { false }
            proton.ownRoutes.append(
                OwnRoute(
                    route: firstContactRoute.route, authKey: firstContactRoute.authKey, state: .active,
                    issuedAt: firstContactRoute.issuedAt, isShared: isShared))
        }
        proton.introduce(persona: persona, routes: ourRoutes, now: now)
        return (proton, received)
    }

    private mutating func introduce(persona: Persona, routes: [OwnRoute], now: Date) {
        enqueue(.displayName(persona.displayName))
        for route in routes {
            let sequence = enqueue(.addRoute(route.route))
            ownRoutes.append(OwnRoute(route: route.route, authKey: route.authKey, state: .offered(sequence: sequence), issuedAt: now))
        }
    }
}

extension OwnRoute {
    /// A fresh route of ours, not yet offered to anyone.
    public init(route: Route, authKey: Ed25519.PrivateKey, issuedAt: Date) {
        self.init(route: route, authKey: authKey, state: .active, issuedAt: issuedAt)
    }
}
