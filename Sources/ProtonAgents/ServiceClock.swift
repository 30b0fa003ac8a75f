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
        Date().addingTimeInterval(offsets.withLock { $0[service] } ?? 0)
    }

    /// Takes the service's time from a `stale_request` refusal received at `localNow`. True if
    /// a new correction was recorded, so that signing again can succeed; false when the
    /// difference is over `maximumCorrection` or already taken into account.
    static func correct(service: String, serviceTime: Int64, localNow: Date) -> Bool {
        let offset = TimeInterval(serviceTime) - localNow.timeIntervalSince1970
        guard abs(offset) <= maximumCorrection else { return false }
        return offsets.withLock { known in
            // The service's time has a resolution of one second.
            if let current = known[service], abs(current - offset) < 2 { return false }
            known[service] = offset
            return true
        }
    }

    /// Forgets every correction (tests).
    public static func reset() { offsets.withLock { $0.removeAll() } }
}
