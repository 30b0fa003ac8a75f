import Benchmark
import BenchmarkEndpoints
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProtonServices

// The fair limit for a durable relay: a bare Hummingbird endpoint that stores each request body
// durably before its 202, driven like the end-to-end rows (docs/performance.md, "The durable
// hop"). On SQLite it commits as the services do (WAL, `synchronous = FULL`, group commit); on
// PostgreSQL one INSERT per request with `synchronous_commit = on` (the server groups the WAL
// flushes of concurrent commits).

func registerDurableHopBenchmarks() {
    var variants: [(name: String, postgres: Bool)] = [("SQLite, synchronous = FULL, group commit", false)]
    if BenchmarkPostgres.isAvailable { variants.append(("PostgreSQL, synchronous_commit = on", true)) }
    for variant in variants {
        let state = Box<(DurableEndpoint, [[UInt8]])?>(nil)
        Benchmark(
            "Durable bare POST /v1/send → commit → 202 (same bodies, \(serviceConcurrency) in flight) [\(variant.name)]",
            configuration: serviceConfiguration()
        ) { benchmark async throws in
            let endpoint: DurableEndpoint
            let bodies: [[UInt8]]
            if let existing = state.value { (endpoint, bodies) = existing } else {
                endpoint = try await DurableEndpoint(postgres: variant.postgres)
                bodies = try throwawayBodies(benchmark.scaledIterations.count)
                state.value = (endpoint, bodies)
            }
            benchmark.startMeasurement()
            try await postAll(bodies, to: endpoint.url)
            benchmark.stopMeasurement()
        }
    }
}
