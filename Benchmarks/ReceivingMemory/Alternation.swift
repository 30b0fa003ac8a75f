// PROTON_ALTERNATE=ROUNDS: the end-to-end path and the durable bare hop of `make bench`, measured
// alternately in one process, ROUNDS times on each backend, so that the machine's load moves
// both sides of the ratio alike (a `make bench` run measures them minutes apart, one after the
// other, and a shared machine's load changes in between: docs/performance.md). The order within a
// round alternates too. Each measurement is PROTON_ALTERNATE_MESSAGES messages (1,000 by
// default, a benchmark sample), with the same code as the benchmark rows (BenchmarkEndpoints).
// PostgreSQL is measured when `scripts/postgres run` provides the cluster.
import BenchmarkEndpoints
import Foundation

enum Alternation {
    struct Measure {
        var wall: Double
        var cpu: Double
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func measure(_ count: Int, _ body: () async throws -> Void) async throws -> Measure {
        let cpu = EndToEndProfile.cpuSeconds()
        let start = ContinuousClock.now
        try await body()
        let wall = EndToEndProfile.seconds(ContinuousClock.now - start)
        return Measure(wall: wall * 1e6 / Double(count), cpu: (EndToEndProfile.cpuSeconds() - cpu) * 1e6 / Double(count))
    }

    static func run(rounds: Int) async throws {
        let count = Int(ProcessInfo.processInfo.environment["PROTON_ALTERNATE_MESSAGES"] ?? "") ?? serviceBatch
        var backends: [(name: String, postgres: Bool, instances: Int)] = [("SQLite", false, 1)]
        if BenchmarkPostgres.isAvailable { backends += [("PostgreSQL", true, 1), ("PostgreSQL, 2 + 2 instances", true, 2)] }
        for backend in backends {
            let path = try await EndToEnd(postgres: backend.postgres, instances: backend.instances)
            let durable = try await DurableEndpoint(postgres: backend.postgres)
            // A warm-up of each, as the benchmark's warm-up iterations.
            try await path.run(try makeSendBodies(count, to: path.routes))
            try await postAll(try throwawayBodies(count), to: durable.url)
            var durables: [Measure] = []
            var ends: [Measure] = []
            for round in 0..<rounds {
                let sends = try makeSendBodies(count, to: path.routes)
                let stores = try throwawayBodies(count)
                let first = round % 2 == 0
                if first { durables.append(try await measure(count) { try await postAll(stores, to: durable.url) }) }
                ends.append(try await measure(count) { try await path.run(sends) })
                if !first { durables.append(try await measure(count) { try await postAll(stores, to: durable.url) }) }
            }
            let wallRatios = zip(durables, ends).map { $0.wall / $1.wall }
            let cpuRatios = zip(durables, ends).map { $0.cpu / $1.cpu }
            print(
                String(
                    format: "%@: %d rounds of %d messages. Durable hop p50 %.0f µs wall, %.0f µs CPU; end to end p50 %.0f µs wall, %.0f µs CPU",
                    backend.name, rounds, count, median(durables.map(\.wall)), median(durables.map(\.cpu)), median(ends.map(\.wall)),
                    median(ends.map(\.cpu))))
            let sortedWall = wallRatios.sorted()
            print(
                String(
                    format: "  end to end / durable hop, per round: median %.1f%% by wall clock (quartiles %.1f–%.1f%%), %.1f%% by CPU time",
                    median(wallRatios) * 100, sortedWall[sortedWall.count / 4] * 100, sortedWall[sortedWall.count * 3 / 4] * 100,
                    median(cpuRatios) * 100))
            print("  rounds (wall ratio %):", wallRatios.map { String(format: "%.0f", $0 * 100) }.joined(separator: " "))
        }
    }
}
