import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonPairing
import ProtonQR
import ProtonStore

// The types an application meets through `Profile`, named here so that `import ProtonClient`
// is the only import it needs (the lower modules stay importable for what this API does not
// cover).

/// A single-use invite (`Profile.invite`, `Profile.parseInvite`).
public typealias Invite = ProtonCore.Invite
/// The first message of a relationship; as a reply QR code, what `acceptOffline` prints.
public typealias InitialMessage = ProtonCore.InitialMessage
/// A relationship's state: ratchet, routes, rotation, safety number.
public typealias Proton = ProtonCore.Proton
/// A relationship's id in this profile.
public typealias ProtonID = ProtonStore.ProtonID
/// A persona's id in this profile.
public typealias PersonaID = ProtonStore.PersonaID
/// A persona as listed.
public typealias StoredPersona = ProtonStore.StoredPersona
/// A contact as listed, without opening its relationship's sealed state.
public typealias ContactSummary = ProtonStore.ProtonSummary
/// What a round of receiving did (`Profile.receive`, `Profile.events`).
public typealias ReceiveEvent = ProtonAgents.ReceiveEvent
/// What a delivery attempt did (`Profile.send`, `Profile.flush`).
public typealias DeliveryEvent = ProtonAgents.DeliveryEvent
/// Our sending and receiving services.
public typealias ServicesConfiguration = ProtonAgents.ServicesConfiguration
/// A passphrase, kept in locked memory and wiped after use.
public typealias SecureBytes = ProtonCrypto.SecureBytes
/// A QR code's modules, for an application to draw.
public typealias QRCode = ProtonQR.QRCode
/// The text encoding of QR codes' alphanumeric mode (invites and replies).
public typealias Base45 = ProtonCore.Base45
/// A stream of pairing frames (an RFCOMM connection, a socket) for `Profile.pair`.
public typealias PairingChannel = ProtonPairing.PairingChannel
/// Why a pairing stopped (`ProfileError.pairing`).
public typealias PairingError = ProtonPairing.PairingError
