import Foundation
import ProtonClient
import ProtonCore
import ProtonStore

/// Routes as JSON: keys base64url, addresses hex.
struct RouteEntry: Encodable {
    let serviceURI: String
    let serviceKey: String
    let address: String
    var state: String?
    var since: Date?
    var issued: Date?
    var added: Date?
    /// One of our key packages' addresses, shared with whoever else fetched the package.
    var firstContact: Bool?

    init(_ route: Route) {
        serviceURI = route.serviceURI
        serviceKey = route.serviceKey.rawRepresentation.base64URL
        address = route.address.hex
    }

    init(own: OwnRoute) {
        self.init(own.route)
        state = own.state.name
        if case .retiring(let date) = own.state { since = date }
        issued = own.issuedAt
        firstContact = own.isShared
    }

    init(peer: PeerRoute) {
        self.init(peer.route)
        added = peer.addedAt
    }
}

/// Where the relationship is in its address rotation.
struct RotationEntry: Encodable {
    struct Policy: Encodable {
        let messagesPerAddress: Int
        let addressLifetimeSeconds: Int
        let retirementGraceSeconds: Int
    }

    struct Update: Encodable {
        let sequence: UInt64
        let kind: String
        let value: String
    }

    let messagesSinceRotation: Int
    let lastRotation: Date
    let offerPending: Bool
    let due: Bool
    let pendingUpdates: [Update]
    let policy: Policy

    init(_ proton: Proton, now: Date) {
        messagesSinceRotation = proton.messagesSinceRotation
        lastRotation = proton.lastRotation
        offerPending = proton.ownRoutes.contains { $0.state.name == "offered" }
        due = proton.rotationDue(now: now)
        pendingUpdates = proton.pendingUpdates.map { update in
            switch update.change {
            case .addRoute(let route): Update(sequence: update.sequence, kind: "addRoute", value: route.address.hex)
            case .retireAddress(let address): Update(sequence: update.sequence, kind: "retireAddress", value: address.hex)
            case .displayName(let name): Update(sequence: update.sequence, kind: "displayName", value: name)
            case .checkpoint(let note):
                // The origin and size lines of the signed checkpoint given to the peer.
                Update(
                    sequence: update.sequence, kind: "checkpoint",
                    value: String(decoding: note, as: UTF8.self).split(separator: "\n").prefix(2).joined(separator: " "))
            }
        }
        policy = Policy(
            messagesPerAddress: proton.policy.messagesPerAddress,
            addressLifetimeSeconds: Int(proton.policy.addressLifetime),
            retirementGraceSeconds: Int(proton.policy.retirementGrace))
    }
}

extension OwnRoute.State {
    var name: String {
        switch self {
        case .offered: "offered"
        case .active: "active"
        case .retiring: "retiring"
        case .retired: "retired"
        }
    }
}

extension RotationEntry.Update {
    var text: String {
        switch kind {
        case "addRoute": "#\(sequence) new address \(value)"
        case "retireAddress": "#\(sequence) retire address \(value)"
        default: "#\(sequence) display name \"\(value)\""
        }
    }
}
