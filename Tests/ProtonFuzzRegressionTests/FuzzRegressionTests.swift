import Foundation
import ProtonFuzzTargets
import Testing

/// Every input a fuzzing run found a crash or a broken property with, saved under
/// `Tests/FuzzRegressions/<target>/` by `make fuzz`, runs again here through the same target:
/// a fixed defect stays fixed. The seeds run too, so a target that no longer accepts its own
/// valid inputs (or breaks a property on them) fails here before anyone fuzzes.
struct FuzzRegressionTests {
    static let regressions = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("FuzzRegressions")

    static let names = FuzzTargets.all.map(\.name)

    /// Runs `body` on a thread of its own, as the fuzz driver does: the pairing targets wait for
    /// a task to finish, which must not block one of the few threads that run tasks.
    private static func onOwnThread(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                body()
                done.resume()
            }.start()
        }
    }

    @Test(arguments: names)
    func seedsHoldEveryProperty(_ name: String) async throws {
        let target = try #require(FuzzTargets.named(name))
        await Self.onOwnThread {
            let seeds = target.seeds()
            #expect(!seeds.isEmpty)
            for (index, seed) in seeds.enumerated() {
                // Every seed is valid: a target that refuses one fuzzes only its first checks.
                do { #expect(try target.run(seed), "seed \(index) refused") } catch { Issue.record("\(error)") }
            }
        }
    }

    @Test(arguments: names)
    func savedFindingsStayFixed(_ name: String) async throws {
        let target = try #require(FuzzTargets.named(name))
        let directory = Self.regressions.appendingPathComponent(name)
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        let inputs = try files.sorted { $0.path < $1.path }.filter { !$0.lastPathComponent.hasPrefix(".") }
            .map { ($0.lastPathComponent, try [UInt8](Data(contentsOf: $0))) }
        await Self.onOwnThread {
            for (file, input) in inputs {
                do { try target.run(input) } catch { Issue.record("\(file): \(error)") }
            }
        }
    }

    @Test func everyTargetHasAUniqueName() {
        #expect(Set(Self.names).count == Self.names.count)
        #expect(Self.names.count >= 24)
    }
}
