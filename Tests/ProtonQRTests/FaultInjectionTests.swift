import Foundation
import ProtonStore
import ProtonTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two people exchange messages through real `proton serve` processes while faults strike at
/// random moments, then everything is drained and counted (docs/reliability.md, "Fault
/// injection"). Every message is a `proton send` process and every fetch a `proton receive`
/// process, so an agent killed with SIGKILL is a real process killed at a random point.
///
/// - `PROTON_FAULT_MESSAGES`: messages each way per fault kind (default 24; `make faults` uses
///   10,000).
/// - `PROTON_FAULT_SEED`: the random seed (default: random, printed so a run can be repeated).
/// - `PROTON_FAULT_FIGURES`: a file the figures are appended to, one Markdown row per run.
@Suite(.serialized)
struct FaultInjectionTests {
    enum Fault: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case services = "kill -9 of the sending and receiving services"
        case agents = "kill -9 of both clients' send and receive agents"
        case everything = "all of the above together"
        var testDescription: String { rawValue }
    }

    private static let environment = ProcessInfo.processInfo.environment
    private static let messages = Int(environment["PROTON_FAULT_MESSAGES"] ?? "") ?? 24

    @Test(.timeLimit(.minutes(120)), arguments: Fault.allCases)
    func nothingAcknowledgedIsLostNothingArrivesTwiceAndAllInOrder(_ fault: Fault) async throws {
        let seed = UInt64(Self.environment["PROTON_FAULT_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        var run = try await FaultRun(fault: fault, seed: seed)
        try await run.exchange(messages: Self.messages)
        try await run.drain()
        let figures = try run.count()
        let row =
            "| \(fault.rawValue) | \(figures.sent) | \(figures.acknowledged) | \(figures.delivered) | \(figures.duplicates) | "
            + "\(figures.outOfOrder) | \(figures.lostAcknowledged) | \(figures.notAcknowledgedArrived) | \(run.kills) | \(run.rotations) | "
            + run.refusals.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: " ") + " | \(seed) |"
        FileHandle.standardError.write(Data("fault figures: \(row)\n".utf8))
        if let path = Self.environment["PROTON_FAULT_FIGURES"], let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() {
            handle.seekToEndOfFile()
            handle.write(Data((row + "\n").utf8))
            try? handle.close()
        }
        #expect(figures.lostAcknowledged == 0, "seed \(seed)")
        #expect(figures.duplicates == 0, "seed \(seed)")
        #expect(figures.outOfOrder == 0, "seed \(seed)")
        // Faults must actually have struck, or the run proves nothing.
        #expect(run.kills > 0, "seed \(seed)")
        // Nothing died that was not killed on purpose (a trap, SIGSEGV, SIGABRT, a service that
        // fell over by itself).
        #expect(run.crashes.isEmpty, "seed \(seed): \(run.crashes)")
        // With the agents left alone, every send is acknowledged: delivered, or kept in the outbox.
        if fault == .services { #expect(run.refusals.isEmpty, "seed \(seed): \(run.refusals)") }
        // In a long run some killed sends must have committed first and still arrived: evidence
        // that the kills land inside the work, not only before it starts.
        if fault != .services && Self.messages >= 100 { #expect(figures.notAcknowledgedArrived > 0, "seed \(seed)") }
    }
}

/// One run: the sandbox, the random stream, and what each side was told.
struct FaultRun {
    let fault: FaultInjectionTests.Fault
    let sandbox: InviteSandbox
    private var random: SplitMix64
    /// Bodies each side's `proton send` reported as delivered or queued (exit 0 or 75).
    private(set) var acknowledged: [String: Set<String>] = ["Alex": [], "Blair": []]
    private(set) var sent: [String: [String]] = ["Alex": [], "Blair": []]
    /// Exit statuses of the sends that were not acknowledged, and how many of each.
    private(set) var refusals: [Int32: Int] = [:]
    private(set) var kills = 0
    /// Processes that died of something other than our SIGKILL.
    private(set) var crashes: [String] = []
    private(set) var rotations = 0
    /// Services killed, and how many more messages go before each is restarted.
    private var down: [String: Int] = [:]

    init(fault: FaultInjectionTests.Fault, seed: UInt64) async throws {
        self.fault = fault
        random = SplitMix64(seed: seed)
        sandbox = try await InviteSandbox.paired()
        // Each side names the other by relationship id: Blair learns Alex's name only from
        // Alex's first message.
        for person in ["Alex", "Blair"] {
            let store = try sandbox.openStore(person)
            defer { try? store.close() }
            contact[person] = try #require(store.protons().first).relationshipID
        }
    }

    /// The relationship id each side names the other by.
    private var contact: [String: String] = [:]

    private var killsServices: Bool { fault != .agents }
    private var killsAgents: Bool { fault != .services }

    mutating func exchange(messages: Int) async throws {
        for index in 1...messages {
            for person in ["Alex", "Blair"] {
                try await strikeServices()
                let body = "\(person) \(index)"
                sent[person]!.append(body)
                let status = try await proton(person, ["send", contact[person]!, body])
                if status == 0 || status == 75 { acknowledged[person]!.insert(body) } else { refusals[status, default: 0] += 1 }
            }
            if index % 5 == 0 {
                for person in ["Alex", "Blair"] { _ = try await proton(person, ["receive"]) }
            }
            if index % 9 == 0 {
                let person = index % 18 == 0 ? "Alex" : "Blair"
                if try await proton(person, ["rotate", contact[person]!]) == 0 { rotations += 1 }
            }
        }
    }

    /// Everything up again; each side sends a last message (which flushes its outbox, in order,
    /// ignoring backoff) and both receive until each has the other's last message and nothing
    /// is held back.
    mutating func drain() async throws {
        noteUnexpectedExits()
        for kind in ["receiving", "sending"] {
            sandbox.killService(kind)
            try sandbox.restartService(kind)
        }
        down = [:]
        for person in ["Alex", "Blair"] {
            var attempts = 0
            while try await sandbox.run(person, "send", contact[person]!, "\(person) end").status != 0 {
                attempts += 1
                guard attempts < 5 else {
                    Issue.record("\(person)'s last message could not be sent")
                    break
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        let deadline = ContinuousClock.now + .seconds(200)
        while ContinuousClock.now < deadline {
            for person in ["Alex", "Blair"] { _ = try await sandbox.run(person, "receive") }
            let alex = try bodies(at: "Alex")
            let blair = try bodies(at: "Blair")
            let held = try holding("Alex") || holding("Blair")
            if alex.contains("Blair end") && blair.contains("Alex end") && !held { return }
            try await Task.sleep(for: .seconds(1))
        }
        Issue.record("the run did not drain within 200 seconds")
    }

    struct Figures {
        var sent = 0
        var acknowledged = 0
        var delivered = 0
        var duplicates = 0
        var outOfOrder = 0
        var lostAcknowledged = 0
        var notAcknowledgedArrived = 0
    }

    /// Counts both directions from the receivers' profiles.
    func count() throws -> Figures {
        var figures = Figures()
        for (person, receiver) in [("Alex", "Blair"), ("Blair", "Alex")] {
            let received = try bodies(at: receiver).filter { $0.hasPrefix(person + " ") && $0 != "\(person) end" }
            let indices = received.compactMap { Int($0.dropFirst(person.count + 1)) }
            figures.sent += sent[person]!.count
            figures.acknowledged += acknowledged[person]!.count
            figures.delivered += Set(received).count
            figures.duplicates += received.count - Set(received).count
            figures.outOfOrder += zip(indices, indices.dropFirst()).filter { $0 >= $1 }.count
            figures.lostAcknowledged += acknowledged[person]!.subtracting(received).count
            figures.notAcknowledgedArrived += Set(received).subtracting(acknowledged[person]!).count
        }
        return figures
    }

    /// The bodies `person` has been shown, in the order shown.
    private func bodies(at person: String) throws -> [String] {
        let store = try sandbox.openStore(person)
        defer { try? store.close() }
        guard let contact = try store.protons().first else { return [] }
        return try store.messages(protonID: contact.id).filter { $0.direction == .incoming }
            .map { String(decoding: $0.body, as: UTF8.self) }
    }

    /// Whether `person` still holds back a message that overtook an earlier one.
    private func holding(_ person: String) throws -> Bool {
        let store = try sandbox.openStore(person)
        defer { try? store.close() }
        return try store.heldMessageCount() > 0
    }

    /// Records every service that is down although we did not kill it; returns their kinds.
    @discardableResult
    private mutating func noteUnexpectedExits() -> [String] {
        let exited = ["receiving", "sending"].filter { down[$0] == nil && !sandbox.isRunning($0) }
        crashes += exited.map { "the \($0) service exited by itself" }
        return exited
    }

    /// Before a message: maybe kill a service (restarted after 1 to 3 more messages), and
    /// restart those whose time is up.
    private mutating func strikeServices() async throws {
        for kind in noteUnexpectedExits() { try sandbox.restartService(kind) }
        for (kind, remaining) in down {
            if remaining <= 1 {
                sandbox.killService(kind)  // reaps it, if a delayed kill struck
                try sandbox.restartService(kind)
                down[kind] = nil
            } else {
                down[kind] = remaining - 1
            }
        }
        guard killsServices, random.next() % 8 == 0 else { return }
        let kind = random.next() % 2 == 0 ? "receiving" : "sending"
        guard sandbox.isRunning(kind) else { return }
        // At a random moment: now, or while the next message is on its way.
        let delay = Int(random.next() % 40)
        if delay < 10 {
            sandbox.killService(kind)
        } else {
            let process = try #require(sandbox.serviceProcess(kind))
            Task.detached {
                try? await Task.sleep(for: .milliseconds(delay))
                process.signal(SIGKILL)
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        kills += 1
        down[kind] = Int(1 + random.next() % 3)
    }

    /// Runs `proton ARGUMENTS` as `person`; when agents are being killed, one run in four is
    /// killed with SIGKILL after 0 to 150 ms. Returns the exit status, or minus the signal.
    private mutating func proton(_ person: String, _ arguments: [String]) async throws -> Int32 {
        let killAfter: Int? = killsAgents && random.next() % 4 == 0 ? Int(random.next() % 150) : nil
        let process = ChildProcess()
        process.executableURL = try InviteSandbox.executable()
        process.arguments = arguments
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": sandbox.root.path,
            "PROTON_HOME": sandbox.profile(person).path,
        ]
        process.currentDirectoryURL = sandbox.root
        let discard = try #require(FileHandle(forWritingAtPath: "/dev/null"))
        defer { try? discard.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = discard
        process.standardError = discard
        try process.run()
        var killed = false
        if let killAfter {
            try await Task.sleep(for: .milliseconds(killAfter))
            if process.isRunning {
                process.signal(SIGKILL)
                killed = true
            }
        }
        await process.exited()
        guard process.terminatedBySignal else { return process.terminationStatus }
        if killed && process.terminationStatus == SIGKILL {
            kills += 1
        } else {
            crashes.append("proton \(arguments[0]) (\(person)) died of signal \(process.terminationStatus)")
        }
        return -process.terminationStatus
    }
}
