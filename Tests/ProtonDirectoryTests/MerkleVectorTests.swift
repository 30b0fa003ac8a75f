import Foundation
import Testing

@testable import ProtonDirectory

/// Known answers for RFC 6962 / RFC 9162 hashing: the reference tree of eight leaves used by
/// Certificate Transparency and transparency-dev/merkle (testonly/constants.go: LeafInputs,
/// NodeHashes, RootHashes; proof/verify_test.go: inclusionProofs, consistencyProofs). The
/// facts are theirs; the code is ours.
struct MerkleVectorTests {
    static let leaves: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ].map(Hex.bytes)

    /// Roots for sizes 0 (the empty tree, SHA-256 of "") through 8.
    static let roots: [String] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    /// Complete subtree hashes by level, then index.
    static let nodes: [[String]] = [
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        [
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ]

    /// (leaf index, tree size, proof) — transparency-dev's inclusionProofs, whose leaf numbers
    /// count from 1, here converted to indices from 0.
    static let inclusion: [(UInt64, UInt64, [String])] = [
        (0, 1, []),
        (0, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (5, 8, [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
    ]

    /// (first size, second size, proof) — transparency-dev's consistencyProofs.
    static let consistency: [(UInt64, UInt64, [String])] = [
        (1, 1, []),
        (1, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (6, 8, [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
        (2, 5, [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
        (6, 7, [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
    ]

    static func referenceLog() throws -> InMemoryTransparencyLog {
        let log = InMemoryTransparencyLog()
        try log.append(leaves)
        return log
    }

    @Test func emptyTreeRootIsSHA256OfTheEmptyString() throws {
        #expect(Hex.string(Merkle.emptyRoot) == Self.roots[0])
        #expect(Hex.string(try InMemoryTransparencyLog().root(size: 0)) == Self.roots[0])
    }

    @Test func rootsOfEverySizeMatchTheReference() throws {
        let log = try Self.referenceLog()
        for size in 0...8 {
            #expect(Hex.string(Merkle.root(ofLeaves: Array(Self.leaves.prefix(size)))) == Self.roots[size], "size \(size)")
            #expect(Hex.string(try log.root(size: UInt64(size))) == Self.roots[size], "size \(size)")
        }
    }

    @Test func completeSubtreeHashesMatchTheReference() throws {
        var levels = CompleteSubtreeLevels()
        for leaf in Self.leaves { levels.append(leafHash: Merkle.leafHash(leaf)) }
        for (level, hashes) in Self.nodes.enumerated() {
            for (index, hash) in hashes.enumerated() {
                #expect(Hex.string(try levels.completeSubtreeHash(level: level, index: UInt64(index))) == hash)
            }
        }
    }

    @Test func leafAndNodeHashesAreDomainSeparated() {
        // MTH({d(0)}) = SHA-256(0x00 || d(0)); the empty leaf's hash is the first node above.
        #expect(Hex.string(Merkle.leafHash([])) == Self.nodes[0][0])
        #expect(Merkle.nodeHash(Merkle.leafHash(Self.leaves[0]), Merkle.leafHash(Self.leaves[1])) == Hex.bytes(Self.nodes[1][0]))
        #expect(Merkle.leafHash([0x01] + Hex.bytes(Self.nodes[0][0]) + Hex.bytes(Self.nodes[0][1])) != Hex.bytes(Self.nodes[1][0]))
    }

    @Test func inclusionProofsMatchTheReferenceAndVerify() throws {
        let log = try Self.referenceLog()
        for (index, size, expected) in Self.inclusion {
            let proof = try log.inclusionProof(index: index, size: size)
            #expect(proof.hashes.map(Hex.string) == expected, "leaf \(index) of \(size)")
            try proof.verify(leafHash: Merkle.leafHash(Self.leaves[Int(index)]), root: Hex.bytes(Self.roots[Int(size)]))
        }
    }

    @Test func consistencyProofsMatchTheReferenceAndVerify() throws {
        let log = try Self.referenceLog()
        for (first, second, expected) in Self.consistency {
            let proof = try log.consistencyProof(from: first, to: second)
            #expect(proof.hashes.map(Hex.string) == expected, "\(first) → \(second)")
            try proof.verify(firstRoot: Hex.bytes(Self.roots[Int(first)]), secondRoot: Hex.bytes(Self.roots[Int(second)]))
        }
    }

    /// transparency-dev's corruptInclusionProof probes, against each reference proof.
    @Test func corruptedInclusionProofsAreRefused() throws {
        let someHash = Hex.bytes("abacaba000000000000000000000000000000000000000000060061e00123456")
        for (index, size, expected) in Self.inclusion where size > 1 {
            let proof = expected.map(Hex.bytes)
            let leaf = Merkle.leafHash(Self.leaves[Int(index)])
            let root = Hex.bytes(Self.roots[Int(size)])
            var probes: [(String, InclusionProof, [UInt8], [UInt8])] = [
                ("index - 1", .init(leafIndex: index &- 1, treeSize: size, hashes: proof), leaf, root),
                ("index + 1", .init(leafIndex: index + 1, treeSize: size, hashes: proof), leaf, root),
                ("index ^ 2", .init(leafIndex: index ^ 2, treeSize: size, hashes: proof), leaf, root),
                ("size * 2", .init(leafIndex: index, treeSize: size * 2, hashes: proof), leaf, root),
                ("size / 2", .init(leafIndex: index, treeSize: size / 2, hashes: proof), leaf, root),
                ("wrong leaf", .init(leafIndex: index, treeSize: size, hashes: proof), Merkle.leafHash(Array("WrongLeaf".utf8)), root),
                ("empty root", .init(leafIndex: index, treeSize: size, hashes: proof), leaf, Merkle.emptyRoot),
                ("random root", .init(leafIndex: index, treeSize: size, hashes: proof), leaf, someHash),
                ("trailing garbage", .init(leafIndex: index, treeSize: size, hashes: proof + [[]]), leaf, root),
                ("trailing root", .init(leafIndex: index, treeSize: size, hashes: proof + [root]), leaf, root),
                ("preceding garbage", .init(leafIndex: index, treeSize: size, hashes: [[]] + proof), leaf, root),
                ("preceding root", .init(leafIndex: index, treeSize: size, hashes: [root] + proof), leaf, root),
                ("removed component", .init(leafIndex: index, treeSize: size, hashes: Array(proof.dropLast())), leaf, root),
            ]
            if proof.count > 1 {
                probes.append(("inserted component", .init(leafIndex: index, treeSize: size, hashes: [proof[0], someHash] + proof[1...]), leaf, root))
            }
            for position in proof.indices {
                var flipped = proof
                flipped[position][0] ^= 8
                probes.append(("flipped bit in \(position)", .init(leafIndex: index, treeSize: size, hashes: flipped), leaf, root))
            }
            for (name, probe, leafHash, rootHash) in probes {
                #expect(throws: ProofError.self, "\(name) for leaf \(index) of \(size)") {
                    try probe.verify(leafHash: leafHash, root: rootHash)
                }
            }
        }
    }

    /// transparency-dev's corruptConsistencyProof probes, against each non-trivial reference proof.
    @Test func corruptedConsistencyProofsAreRefused() throws {
        for (first, second, expected) in Self.consistency where !expected.isEmpty {
            let proof = expected.map(Hex.bytes)
            let root1 = Hex.bytes(Self.roots[Int(first)])
            let root2 = Hex.bytes(Self.roots[Int(second)])
            let wrong = SHA256Helper.hash("WrongRoot")
            var probes: [(String, ConsistencyProof, [UInt8], [UInt8])] = [
                ("size1 - 1", .init(firstSize: first - 1, secondSize: second, hashes: proof), root1, root2),
                ("size1 + 1", .init(firstSize: first + 1, secondSize: second, hashes: proof), root1, root2),
                ("size1 ^ 2", .init(firstSize: first ^ 2, secondSize: second, hashes: proof), root1, root2),
                ("size2 * 2", .init(firstSize: first, secondSize: second * 2, hashes: proof), root1, root2),
                ("size2 / 2", .init(firstSize: first, secondSize: second / 2, hashes: proof), root1, root2),
                ("wrong root1", .init(firstSize: first, secondSize: second, hashes: proof), wrong, root2),
                ("wrong root2", .init(firstSize: first, secondSize: second, hashes: proof), root1, wrong),
                ("swapped roots", .init(firstSize: first, secondSize: second, hashes: proof), root2, root1),
                ("empty proof", .init(firstSize: first, secondSize: second, hashes: []), root1, root2),
                ("trailing garbage", .init(firstSize: first, secondSize: second, hashes: proof + [[]]), root1, root2),
                ("trailing root1", .init(firstSize: first, secondSize: second, hashes: proof + [root1]), root1, root2),
                ("trailing root2", .init(firstSize: first, secondSize: second, hashes: proof + [root2]), root1, root2),
                ("preceding garbage", .init(firstSize: first, secondSize: second, hashes: [[]] + proof), root1, root2),
                ("preceding root1", .init(firstSize: first, secondSize: second, hashes: [root1] + proof), root1, root2),
                ("preceding root2", .init(firstSize: first, secondSize: second, hashes: [root2] + proof), root1, root2),
                ("preceding proof[0]", .init(firstSize: first, secondSize: second, hashes: [proof[0]] + proof), root1, root2),
                ("truncated", .init(firstSize: first, secondSize: second, hashes: Array(proof.dropLast())), root1, root2),
            ]
            for position in proof.indices {
                var flipped = proof
                flipped[position][0] ^= 16
                probes.append(("flipped bit in \(position)", .init(firstSize: first, secondSize: second, hashes: flipped), root1, root2))
            }
            for (name, probe, firstRoot, secondRoot) in probes {
                #expect(throws: ProofError.self, "\(name) for \(first) → \(second)") {
                    try probe.verify(firstRoot: firstRoot, secondRoot: secondRoot)
                }
            }
        }
    }

    /// transparency-dev's TestVerifyConsistency edge cases, with our stricter rule that an
    /// empty first tree must have the empty tree's root.
    @Test func consistencyEdgeCases() throws {
        let root1 = SHA256Helper.hash("don't care 1")
        let root2 = SHA256Helper.hash("don't care 2")
        let empty = Merkle.emptyRoot
        // Equal sizes need equal roots and an empty proof.
        #expect(throws: ProofError.secondRootMismatch) { try ConsistencyProof(firstSize: 1, secondSize: 1, hashes: []).verify(firstRoot: root1, secondRoot: root2) }
        try ConsistencyProof(firstSize: 1, secondSize: 1, hashes: []).verify(firstRoot: root2, secondRoot: root2)
        try ConsistencyProof(firstSize: 0, secondSize: 0, hashes: []).verify(firstRoot: empty, secondRoot: empty)
        try ConsistencyProof(firstSize: 0, secondSize: 1, hashes: []).verify(firstRoot: empty, secondRoot: root2)
        #expect(throws: ProofError.firstRootMismatch) { try ConsistencyProof(firstSize: 0, secondSize: 1, hashes: []).verify(firstRoot: root1, secondRoot: root2) }
        // Time travel to the past.
        #expect(throws: ProofError.sizesOutOfOrder(first: 1, second: 0)) { try ConsistencyProof(firstSize: 1, secondSize: 0, hashes: []).verify(firstRoot: root1, secondRoot: root2) }
        #expect(throws: ProofError.sizesOutOfOrder(first: 2, second: 1)) { try ConsistencyProof(firstSize: 2, secondSize: 1, hashes: []).verify(firstRoot: root1, secondRoot: root2) }
        // An empty proof where one is needed; a proof where none is.
        #expect(throws: ProofError.wrongProofLength(expected: 1, actual: 0)) { try ConsistencyProof(firstSize: 1, secondSize: 2, hashes: []).verify(firstRoot: root1, secondRoot: root2) }
        for (first, second) in [(0, 0), (0, 1), (1, 1)] as [(UInt64, UInt64)] {
            #expect(throws: ProofError.wrongProofLength(expected: 0, actual: 1)) {
                try ConsistencyProof(firstSize: first, secondSize: second, hashes: [empty]).verify(firstRoot: empty, secondRoot: empty)
            }
        }
    }

    /// transparency-dev's TestVerifyInclusion / TestVerifyInclusionSingleEntry edge cases.
    @Test func inclusionEdgeCases() throws {
        let some = SHA256Helper.hash("some")
        for (index, size) in [(0, 0), (1, 0), (2, 1)] as [(UInt64, UInt64)] {
            #expect(throws: ProofError.leafIndexOutOfRange(index: index, treeSize: size)) {
                try InclusionProof(leafIndex: index, treeSize: size, hashes: []).verify(leafHash: some, root: Merkle.emptyRoot)
            }
        }
        let hash = Merkle.leafHash(Array("data".utf8))
        try InclusionProof(leafIndex: 0, treeSize: 1, hashes: []).verify(leafHash: hash, root: hash)
        #expect(throws: ProofError.invalidHashLength(field: "leaf hash", actual: 0)) {
            try InclusionProof(leafIndex: 0, treeSize: 1, hashes: []).verify(leafHash: [], root: hash)
        }
        #expect(throws: ProofError.invalidHashLength(field: "root hash", actual: 0)) {
            try InclusionProof(leafIndex: 0, treeSize: 1, hashes: []).verify(leafHash: hash, root: [])
        }
        #expect(throws: ProofError.rootMismatch) {
            try InclusionProof(leafIndex: 0, treeSize: 1, hashes: []).verify(leafHash: hash, root: some)
        }
    }

    @Test func proofsLongerThanSixtyFourHashesAndHugeTreesAreRefusedBeforeHashing() {
        let long = [[UInt8]](repeating: Merkle.emptyRoot, count: 65)
        let limit = Merkle.maximumTreeSize
        #expect(throws: ProofError.proofTooLong(limit: 64, actual: 65)) {
            try InclusionProof(leafIndex: 0, treeSize: limit, hashes: long).verify(leafHash: Merkle.emptyRoot, root: Merkle.emptyRoot)
        }
        #expect(throws: ProofError.proofTooLong(limit: 64, actual: 65)) {
            try ConsistencyProof(firstSize: 3, secondSize: limit, hashes: long).verify(firstRoot: Merkle.emptyRoot, secondRoot: Merkle.emptyRoot)
        }
        #expect(throws: ProofError.treeSizeTooLarge(limit: limit, actual: limit + 1)) {
            try InclusionProof(leafIndex: 0, treeSize: limit + 1, hashes: []).verify(leafHash: Merkle.emptyRoot, root: Merkle.emptyRoot)
        }
        #expect(throws: ProofError.treeSizeTooLarge(limit: limit, actual: .max)) {
            try ConsistencyProof(firstSize: 3, secondSize: .max, hashes: []).verify(firstRoot: Merkle.emptyRoot, secondRoot: Merkle.emptyRoot)
        }
        // The largest trees accepted still have proofs of at most 64 hashes.
        for size in [limit, limit - 1, UInt64(1) << 62, (UInt64(1) << 62) + 1] {
            for index in [0, 1, 2, 3, size / 2, size - 2, size - 1] {
                #expect(InclusionProof.expectedLength(leafIndex: index, treeSize: size) <= 64)
                #expect(ConsistencyProof.expectedLength(firstSize: index + 1, secondSize: size) <= 64)
            }
        }
    }
}

enum SHA256Helper {
    static func hash(_ text: String) -> [UInt8] { Merkle.leafHash(Array(text.utf8)) }
}
