import ProtonCrypto
import Testing

struct DeterministicRandomTests {
    private func stream(_ random: some RandomSource) -> [[UInt8]] {
        [1, 16, 32, 0, 100, 7].map { random.bytes($0) }
    }

    @Test func sameSeedGivesTheSameStream() {
        let a = stream(DeterministicRandom(seed: "seed one"))
        let b = stream(DeterministicRandom(seed: "seed one"))
        #expect(a == b)
        #expect(a.map(\.count) == [1, 16, 32, 0, 100, 7])
    }

    @Test func differentSeedsGiveDifferentStreams() {
        let a = stream(DeterministicRandom(seed: "seed one"))
        let b = stream(DeterministicRandom(seed: "seed two"))
        #expect(a != b)
        #expect(a[2] != b[2])
        #expect(a[4] != b[4])
    }

    @Test func seedsThatArePrefixesOfEachOtherDiffer() {
        // The seed is followed by the block counter, so "ab" and "a" must not line up.
        #expect(DeterministicRandom(seed: [0x61, 0x62]).bytes(32) != DeterministicRandom(seed: [0x61]).bytes(32))
    }

    @Test func successiveCallsAdvanceTheStream() {
        let random = DeterministicRandom(seed: "advance")
        #expect(random.bytes(32) != random.bytes(32))
    }

    @Test func stringSeedIsItsUTF8Bytes() {
        #expect(DeterministicRandom(seed: "héllo").bytes(48) == DeterministicRandom(seed: Array("héllo".utf8)).bytes(48))
    }

    @Test func emptySeedIsUsable() {
        let a = DeterministicRandom(seed: [UInt8]()).bytes(16)
        let b = DeterministicRandom(seed: [UInt8]()).bytes(16)
        #expect(a == b)
        #expect(a != [UInt8](repeating: 0, count: 16))
    }

    @Test func systemRandomReturnsRequestedLengthAndVaries() {
        let random = SystemRandom()
        #expect(random.bytes(0).isEmpty)
        let a = random.bytes(32)
        let b = random.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }
}
