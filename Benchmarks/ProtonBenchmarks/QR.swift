import Benchmark
import Foundation
import ProtonCore
import ProtonCrypto
import ProtonQR

// QR codes as `proton invite` makes them: a typical invite (the demo's loopback receiving
// service URI, 205 bytes, 308 Base45 characters, version 10-M) encoded by libqrencode, then
// drawn for the terminal or written as a PNG. A reply QR (`proton accept --offline`, 477 bytes,
// version 17-M) is measured too.

func registerQRBenchmarks() {
    let random = SystemRandom()
    let route = try! Route(
        serviceURI: "http://127.0.0.1:39953", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: random))
    let invite = Invite(identity: Ed25519.PrivateKey(), prekey: X25519.PrivateKey().publicKey, route: route, expires: Date())
    let inviteText = invite.qrText
    let replyText = Base45.encode(random.bytes(477))
    let code = try! QRCode.encode(alphanumeric: inviteText, maximumVersion: 10)
    precondition(code.version == 10)

    Benchmark("QR invite encode (libqrencode, version 10-M)", configuration: configuration(.one, maxIterations: 20_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! QRCode.encode(alphanumeric: inviteText, maximumVersion: 10))
        }
    }

    Benchmark("QR invite encode + half-block render", configuration: configuration(.one, maxIterations: 20_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            let code = try! QRCode.encode(alphanumeric: inviteText, maximumVersion: 10)
            blackHole(TerminalRendering.render(code, style: .halfBlocks))
        }
    }

    Benchmark("QR invite half-block render only", configuration: configuration(.one, maxIterations: 20_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(TerminalRendering.render(code, style: .halfBlocks))
        }
    }

    Benchmark("QR invite PNG (scale 8, stored deflate)", configuration: configuration(.one, maxIterations: 5_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! PNGWriter.encode(code.withQuietZone(), scale: 8))
        }
    }

    Benchmark("QR reply encode + half-block render (version 17-M)", configuration: configuration(.one, maxIterations: 20_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            let code = try! QRCode.encode(alphanumeric: replyText)
            blackHole(TerminalRendering.render(code, style: .halfBlocks))
        }
    }
}
