// Two people, two profiles, one conversation: everything a client does goes through
// `ProtonClient` alone. The services are real ones on loopback ports, started in this process
// with `ProtonServices` only because an example has nowhere else to find them; an application
// is given their URIs instead.
//
//   swift run TwoProfilesExample
//
// Exits 0 when every step did what it should, 1 otherwise (`make test` runs it).

import Foundation
import ProtonClient
import ProtonServices

@main
struct TwoProfilesExample {
    static func main() async {
        do {
            try await run()
            print("The example ran to the end.")
        } catch {
            FileHandle.standardError.write(Data("example failed: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proton-example-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }

        // Setting: a receiving and a sending service on loopback.
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(dataDirectory: root.appendingPathComponent("receiving")))
        let sending = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: root.appendingPathComponent("sending"), forwarding: ForwardingPolicy(allowsPrivateTargets: true)))
        do {
            try await converse(receiving: receiving.baseURL, sending: sending.baseURL, in: root)
        } catch {
            await receiving.stop()
            await sending.stop()
            throw error
        }
        await receiving.stop()
        await sending.stop()
    }

    /// Everything an application does, given its services' URIs.
    static func converse(receiving: String, sending: String, in root: URL) async throws {

        // 1. Two profiles, each with the two services.
        let alice = try Profile.create(at: root.appendingPathComponent("alice"), displayName: "Alice", passphrase: nil)
        let bob = try Profile.create(at: root.appendingPathComponent("bob"), displayName: "Bob", passphrase: nil)
        for profile in [alice, bob] {
            try await profile.addService(.receiving, uri: receiving)
            try await profile.addService(.sending, uri: sending)
        }

        // 2. Alice invites; the text is what her QR code holds.
        let issued = try await alice.invite(
            as: try await alice.persona(matching: nil), expires: Date().addingTimeInterval(600), offline: false)
        print("Alice's invite: \(issued.invite.qrText.count) characters, a version \(issued.code.version) QR code.")

        // 3. Bob accepts it with a first message.
        let invite = try Profile.parseInvite(issued.invite.qrText)
        let started = try await bob.accept(invite, as: try await bob.persona(matching: nil), message: Array("Hello Alice, it's Bob.".utf8))
        print("Bob accepted: relationship \(started.proton.relationshipID), first message delivered: \(started.delivered).")

        // 4. Alice receives it: the relationship is complete on her side too.
        let first = try await texts(alice.receive(wait: 10))
        guard first == ["Hello Alice, it's Bob."] else { throw ExampleFailure("Alice received \(first), not Bob's first message") }
        print("Alice received: \(first[0])")
        let bobAtAlice = try await alice.contact(matching: "Bob")
        let aliceAtBob = try await bob.contact(started.protonID)

        // 5. Both compare safety numbers (out of band, in real life).
        let aliceSees = try await alice.contact(bobAtAlice.id).proton.safetyNumber.description
        let bobSees = aliceAtBob.proton.safetyNumber.description
        guard aliceSees == bobSees else { throw ExampleFailure("the safety numbers differ") }
        print("Safety number on both sides: \(aliceSees)")

        // 6. A reply, received through Bob's event stream.
        let sent = try await alice.send(Array("Hi Bob! Good to hear from you.".utf8), to: bobAtAlice.id)
        guard sent.delivered else { throw ExampleFailure("Alice's reply was not delivered") }
        // One round of Bob's event stream at most 10 s long: a reply that never comes fails
        // the example instead of hanging it.
        let stream = bob.events(wait: 10)
        let reply = Task { () -> String? in
            for try await event in stream {
                if case .received(.received(_, _, let body, _, _)) = event, !body.isEmpty { return String(decoding: body, as: UTF8.self) }
            }
            return nil
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(30))
            reply.cancel()
        }
        defer { timeout.cancel() }
        guard let text = try await reply.value else { throw ExampleFailure("Bob's event stream ended without Alice's reply") }
        print("Bob received: \(text)")

        // 7. Bob blocks Alice: her addresses are retired, and nothing more reaches him.
        let block = try await bob.block(started.protonID)
        print("Bob blocked Alice: \(block.retired.count) address(es) retired.")
        let afterBlock = try await alice.send(Array("Still there?".utf8), to: bobAtAlice.id)
        guard !afterBlock.delivered else { throw ExampleFailure("a message reached a blocked address") }
        print("Alice's next message was refused by the service: the address is gone.")

        alice.close()
        bob.close()
    }

    static func texts(_ events: [ReceiveEvent]) -> [String] {
        events.compactMap { event in
            guard case .received(_, _, let body, _, _) = event, !body.isEmpty else { return nil }
            return String(decoding: body, as: UTF8.self)
        }
    }

    struct ExampleFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
