import Foundation

/// One parser of outside input under fuzzing: `run` feeds it bytes and checks what must hold
/// whatever the bytes (a typed refusal is fine; a crash, a trap or a broken property is not),
/// `seeds` are valid inputs built the way the test vectors are, to start the corpus from.
///
/// The libFuzzer driver (`Fuzz/`) calls `run` for each input and turns a thrown `FuzzViolation`
/// into a crash; the regression tests call it for every saved crash input under
/// `Tests/FuzzRegressions/<name>/`.
public struct FuzzTarget: Sendable {
    public let name: String
    public let summary: String
    private let body: @Sendable ([UInt8]) throws(FuzzViolation) -> Bool
    private let makeSeeds: @Sendable () -> [[UInt8]]

    init(
        _ name: String, _ summary: String, seeds: @escaping @Sendable () -> [[UInt8]],
        run: @escaping @Sendable ([UInt8]) throws(FuzzViolation) -> Bool
    ) {
        self.name = name
        self.summary = summary
        self.body = run
        self.makeSeeds = seeds
    }

    /// Runs one input: true if the parser accepted it (a refusal is an answer too). Throws only
    /// when a property that must hold for every input did not.
    @discardableResult
    public func run(_ input: [UInt8]) throws(FuzzViolation) -> Bool { try body(input) }

    /// Valid inputs to start a corpus from.
    public func seeds() -> [[UInt8]] { makeSeeds() }
}

/// A property that failed for an input: a bug, like a crash.
public struct FuzzViolation: Error, CustomStringConvertible, Sendable {
    public let target: String
    public let property: String

    public var description: String { "\(target): \(property)" }
}

/// Checks `condition`, or throws the violation of `property`.
@inline(__always)
func require(_ condition: Bool, _ target: String, _ property: @autoclosure () -> String) throws(FuzzViolation) {
    if !condition { throw FuzzViolation(target: target, property: property()) }
}

public enum FuzzTargets {
    /// Every target, by name.
    public static let all: [FuzzTarget] =
        WireTargets.all + RelationshipTargets.all + DirectoryTargets.all + PairingTargets.all + ServiceTargets.all
        + StreamTargets.all + WitnessTargets.all

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
