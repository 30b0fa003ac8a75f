import AsyncHTTPClient
import BenchmarkEndpoints
import Benchmark
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices

// End to end through the real services, and a bare Hummingbird endpoint beside it, in the same
// run (docs/performance.md, "Services on loopback").

/// Throughput and time per message, and the process's CPU time per message (user + system,
/// every thread: client, services and the database library alike), which a shared machine's
/// load moves much less than the wall clock.
func serviceConfiguration() -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock, .cpuTotal],
        units: [.throughput: .count],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 1_000
    )
}

func registerServiceBenchmarks() {
    // End to end on SQLite (the embedded default), on PostgreSQL, and on PostgreSQL with two
    // instances of each service; the PostgreSQL rows run when the cluster of `scripts/postgres
    // run` is there (`make bench` starts one).
    var variants: [(name: String, postgres: Bool, instances: Int)] = [("", false, 1)]
    if BenchmarkPostgres.isAvailable {
        variants += [(" [PostgreSQL]", true, 1), (" [PostgreSQL, 2 instances of each]", true, 2)]
    }
    for variant in variants {
        let endToEnd = Box<EndToEnd?>(nil)
        Benchmark(
            "End to end: POST /v1/send → sending → receiving → fetch + ack (1 KiB msgs, \(serviceConcurrency) in flight)\(variant.name)",
            configuration: serviceConfiguration()
        ) { benchmark async throws in
            let state: EndToEnd
            if let existing = endToEnd.value {
                state = existing
            } else {
                state = try await EndToEnd(postgres: variant.postgres, instances: variant.instances)
                endToEnd.value = state
            }
            // Sealed before the clock starts: the sender's sealing is not what is measured.
            let bodies = try makeSendBodies(benchmark.scaledIterations.count, to: state.routes)
            benchmark.startMeasurement()
            try await state.run(bodies)
            benchmark.stopMeasurement()
        }
    }

    let bare = Box<(BareEndpoint, [[UInt8]])?>(nil)
    Benchmark(
        "Bare Hummingbird POST /v1/send → 202 (same bodies, \(serviceConcurrency) in flight)",
        configuration: serviceConfiguration()
    ) { benchmark async throws in
        let endpoint: BareEndpoint
        let bodies: [[UInt8]]
        if let existing = bare.value { (endpoint, bodies) = existing } else {
            endpoint = try await BareEndpoint()
            bodies = try throwawayBodies(benchmark.scaledIterations.count)
            bare.value = (endpoint, bodies)
        }
        benchmark.startMeasurement()
        try await postAll(bodies, to: endpoint.url)
        benchmark.stopMeasurement()
    }

    registerDurableHopBenchmarks()
}
