import Foundation
import ProtonCore
import Synchronization

/// How far each receiving service's clock is from ours, as the services said it.
///
/// Owner requests are signed with a timestamp that the service refuses when it is more than
/// `RequestSignature.allowedSkew` (5 minutes) from its own clock. A laptop without NTP or a VM
/// resumed from a snapshot is easily that far off, and then could not fetch anything. A
/// `stale_request` refusal carries the service's time (`Proton-Service-Time`); the client
/// keeps the difference for that service, for the life of the process, and signs once more
/// with the service's time. The service's replay protection is unchanged: each request still
/// has a fresh nonce and a timestamp the service finds fresh.
public enum ServiceClock {
    /// The largest correction taken from a service. Past it the clock is wrong enough that the
    /// person must set it right (`RelayError` says by how much), and neither a service nor
    /// anyone on a plain-HTTP path can make us sign requests that become fresh hours later.
    public static let maximumCorrection: TimeInterval = 3600

    private static let offsets = Mutex<[String: TimeInterval]>([:])

    /// Our clock, corrected by what `service` said of its own.
    public static func now(for service: String) -> Date {
        Date().addingTimeInterval(offset(for: service))
    }

    /// The correction for `service`, in seconds (0 until it says otherwise).
    public static func offset(for service: String) -> TimeInterval {
        offsets.withLock { $0[service] } ?? 0
    }

    /// Takes the service's time from a `stale_request` refusal received at `localNow`, unless
    /// the difference is over `maximumCorrection` or already taken into account (the
    /// service's time has a resolution of one second). A request refused as stale is signed
    /// again when the correction now differs from the one it was signed with: by this call, or
    /// by a concurrent request's refusal that arrived first.
    static func correct(service: String, serviceTime: Int64, localNow: Date) {
        let offset = TimeInterval(serviceTime) - localNow.timeIntervalSince1970
        guard abs(offset) <= maximumCorrection else { return }
        offsets.withLock { known in
            if let current = known[service], abs(current - offset) < 2 { return }
            known[service] = offset
        }
    }

    /// Forgets every correction (tests).
    public static func reset() { offsets.withLock { $0.removeAll() } }
}
