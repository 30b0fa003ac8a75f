import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// What a witness and a client read about witnessing: the body of `add-checkpoint`
/// (c2sp.org/tlog-witness) as the witness receives it, and a c2sp.org/tlog-policy file as a
/// client is given it.
enum WitnessTargets {
    static let all: [FuzzTarget] = [request, policy]

    /// The witnessed state the request is checked against: the fixed log at size 4.
    static let latest = WitnessedCheckpoint(size: 4, rootHash: try! Seeds.Directory.log.root(size: 4))

    static let request = FuzzTarget(
        "witness-request", "add-checkpoint bodies: parse, exact re-encoding, the witness's checks against a fixed log and state",
        seeds: {
            let log = Seeds.Directory.log
            let note = Seeds.Directory.checkpoint.note
            return [
                AddCheckpointRequest(oldSize: 4, proof: try! log.consistencyProof(from: 4, to: 10).hashes, note: note).encoded(),
                AddCheckpointRequest(oldSize: 0, proof: [], note: note).encoded(),
            ]
        }
    ) { input throws(FuzzViolation) in
        let name = "witness-request"
        guard let request = try? AddCheckpointRequest(parsing: input) else { return false }
        try require(request.encoded() == input, name, "an accepted body re-encodes differently")
        guard let checkpoint = try? WitnessRules.authenticate(request, logs: [Seeds.Directory.key.name: Seeds.Directory.key.verifier]) else {
            return true
        }
        if (try? WitnessRules.check(request, checkpoint: checkpoint, against: latest)) != nil {
            // What the witness would cosign extends the state it holds: the fixed log's own tree.
            try require(
                checkpoint.size >= latest.size && (try? Seeds.Directory.log.root(size: checkpoint.size)) == checkpoint.rootHash, name,
                "a checkpoint that is not the log's tree passed the checks")
        }
        return true
    }

    static let policy = FuzzTarget(
        "witness-policy", "tlog-policy files: parse, and a quorum that all witnesses meet and none but 'none' meets without any",
        seeds: {
            let keys = (0..<3).map { index in
                try! CosignatureVerifier(name: "w\(index).example.org", publicKey: Ed25519.PrivateKey(using: Fixtures.random("witness-\(index)")).publicKey)
                    .verifierKey
            }
            return [
                Array(
                    ("# a policy\nlog \(Seeds.Directory.key.verifier.verifierKey)\n" + keys.enumerated().map { "witness W\($0.offset) \($0.element)\n" }.joined()
                        + "group two 2 W0 W1\ngroup both all two W2\nquorum both\n").utf8),
                Array("quorum none\n".utf8),
            ]
        }
    ) { input throws(FuzzViolation) in
        let name = "witness-policy"
        guard let policy = try? WitnessPolicy(parsing: String(decoding: input, as: UTF8.self)) else { return false }
        let everyone = Set(policy.witnesses.map(\.name))
        try require(policy.isSatisfied(byWitnessesNamed: everyone), name, "not even every witness together meets the quorum")
        if policy.quorum != "none" {
            try require(!policy.isSatisfied(byWitnessesNamed: []), name, "a quorum other than none is met without any cosignature")
        }
        // Monotonic: a quorum met by some witnesses is met by more.
        let some = Set(policy.witnesses.prefix(policy.witnesses.count / 2).map(\.name))
        if policy.isSatisfied(byWitnessesNamed: some) {
            try require(policy.isSatisfied(byWitnessesNamed: everyone), name, "more cosigners broke a quorum")
        }
        return true
    }
}
