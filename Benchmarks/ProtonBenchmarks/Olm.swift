import COlm
import Foundation
import ProtonCrypto

/// A thin Swift wrapper over libolm's C API, just enough to set up an Olm session between two
/// accounts and pass messages. Randomness comes from libsodium's `randombytes_buf` through
/// ProtonCrypto's `SystemRandom`. Any libolm error is fatal: a benchmark that silently measured
/// a failing path would be worse than none.
enum OlmBench {
    static let random = SystemRandom()

    static func check(_ result: Int, _ what: String, _ lastError: @autoclosure () -> String) {
        if result == olm_error() {
            fatalError("libolm \(what) failed: \(lastError())")
        }
    }

    final class Account {
        let memory: UnsafeMutableRawPointer
        let account: OpaquePointer

        init() {
            memory = .allocate(byteCount: olm_account_size(), alignment: 16)
            account = olm_account(memory)
            var randomBytes = OlmBench.random.bytes(olm_create_account_random_length(account))
            let result = olm_create_account(account, &randomBytes, randomBytes.count)
            check(result, "create_account", lastError)
        }

        deinit {
            olm_clear_account(account)
            memory.deallocate()
        }

        var lastError: String { String(cString: olm_account_last_error(account)) }

        /// The base64 Curve25519 identity key.
        var curve25519IdentityKey: String {
            var buffer = [UInt8](repeating: 0, count: olm_account_identity_keys_length(account))
            let length = olm_account_identity_keys(account, &buffer, buffer.count)
            check(length, "identity_keys", lastError)
            let json = try! JSONSerialization.jsonObject(with: Data(buffer[..<length])) as! [String: Any]
            return json["curve25519"] as! String
        }

        /// Generates one one-time key, marks it published and returns it (base64).
        func publishOneTimeKey() -> String {
            var randomBytes = OlmBench.random.bytes(olm_account_generate_one_time_keys_random_length(account, 1))
            check(olm_account_generate_one_time_keys(account, 1, &randomBytes, randomBytes.count), "generate_otk", lastError)
            var buffer = [UInt8](repeating: 0, count: olm_account_one_time_keys_length(account))
            let length = olm_account_one_time_keys(account, &buffer, buffer.count)
            check(length, "one_time_keys", lastError)
            let json = try! JSONSerialization.jsonObject(with: Data(buffer[..<length])) as! [String: Any]
            let keys = json["curve25519"] as! [String: String]
            precondition(keys.count == 1, "expected exactly one unpublished one-time key")
            _ = olm_account_mark_keys_as_published(account)
            return keys.values.first!
        }
    }

    struct Message {
        var type: Int
        var body: [UInt8]
    }

    final class Session {
        let memory: UnsafeMutableRawPointer
        let session: OpaquePointer
        /// Scratch buffers reused across calls so the measurement is libolm's work, not Swift's
        /// allocator.
        private var messageBuffer: [UInt8] = []
        private var scratch: [UInt8] = []
        private var plaintextBuffer: [UInt8] = []

        private init() {
            memory = .allocate(byteCount: olm_session_size(), alignment: 16)
            session = olm_session(memory)
        }

        deinit {
            olm_clear_session(session)
            memory.deallocate()
        }

        var lastError: String { String(cString: olm_session_last_error(session)) }

        static func outbound(from account: Account, theirIdentityKey: String, theirOneTimeKey: String) -> Session {
            let s = Session()
            var randomBytes = OlmBench.random.bytes(olm_create_outbound_session_random_length(s.session))
            let identity = Array(theirIdentityKey.utf8)
            let oneTime = Array(theirOneTimeKey.utf8)
            let result = olm_create_outbound_session(
                s.session, account.account, identity, identity.count, oneTime, oneTime.count,
                &randomBytes, randomBytes.count)
            check(result, "create_outbound_session", s.lastError)
            return s
        }

        /// Bob's side, from Alice's first pre-key message; removes the used one-time key.
        static func inbound(to account: Account, preKeyMessage: Message) -> Session {
            precondition(preKeyMessage.type == Int(OLM_MESSAGE_TYPE_PRE_KEY))
            let s = Session()
            var body = preKeyMessage.body // olm_create_inbound_session destroys its input
            check(olm_create_inbound_session(s.session, account.account, &body, body.count), "create_inbound_session", s.lastError)
            check(olm_remove_one_time_keys(account.account, s.session), "remove_one_time_keys", account.lastError)
            return s
        }

        /// `olm_encrypt`. Only asks for random bytes when libolm needs them (a new ratchet key
        /// at the start of a sending chain: 32 bytes; otherwise none).
        func encrypt(_ plaintext: [UInt8]) -> Message {
            let type = olm_encrypt_message_type(session)
            check(type, "encrypt_message_type", lastError)
            let randomLength = olm_encrypt_random_length(session)
            var randomBytes = randomLength == 0 ? [] : OlmBench.random.bytes(randomLength)
            let length = olm_encrypt_message_length(session, plaintext.count)
            if messageBuffer.count < length {
                messageBuffer = [UInt8](repeating: 0, count: length)
            }
            let written = plaintext.withUnsafeBytes { p in
                randomBytes.withUnsafeMutableBytes { r in
                    messageBuffer.withUnsafeMutableBytes { m in
                        olm_encrypt(session, p.baseAddress, p.count, r.baseAddress, r.count, m.baseAddress, length)
                    }
                }
            }
            check(written, "encrypt", lastError)
            return Message(type: type, body: Array(messageBuffer[..<written]))
        }

        /// `olm_decrypt`. libolm decodes the message in place, so it works on a copy. The output
        /// buffer is sized by the base64 body (always larger than the plaintext it can hold), which
        /// spares a second decode through `olm_decrypt_max_plaintext_length`.
        func decrypt(_ message: Message) -> ArraySlice<UInt8> {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: message.body)
            let maxLength = message.body.count
            if plaintextBuffer.count < maxLength {
                plaintextBuffer = [UInt8](repeating: 0, count: maxLength)
            }
            let length = scratch.withUnsafeMutableBytes { m in
                plaintextBuffer.withUnsafeMutableBytes { p in
                    olm_decrypt(session, message.type, m.baseAddress, m.count, p.baseAddress, maxLength)
                }
            }
            check(length, "decrypt", lastError)
            return plaintextBuffer[..<length]
        }
    }

    /// Alice and Bob with an established session. The handshake is completed both ways (Alice's
    /// pre-key message, Bob's reply, Alice's answer) so that afterwards both send ordinary
    /// Double Ratchet messages (type 1), the shape Proton's ratchet is compared against.
    final class Pair: @unchecked Sendable {
        let aliceAccount = Account()
        let bobAccount = Account()
        let alice: Session
        let bob: Session

        init() {
            let oneTimeKey = bobAccount.publishOneTimeKey()
            alice = Session.outbound(
                from: aliceAccount, theirIdentityKey: bobAccount.curve25519IdentityKey, theirOneTimeKey: oneTimeKey)
            let hello = Array("hello".utf8)
            let first = alice.encrypt(hello)
            bob = Session.inbound(to: bobAccount, preKeyMessage: first)
            precondition(Array(bob.decrypt(first)) == hello, "libolm: Bob could not read the pre-key message")
            let reply = bob.encrypt(hello)
            precondition(reply.type == Int(OLM_MESSAGE_TYPE_MESSAGE))
            precondition(Array(alice.decrypt(reply)) == hello, "libolm: Alice could not read Bob's reply")
            let answer = alice.encrypt(hello)
            precondition(answer.type == Int(OLM_MESSAGE_TYPE_MESSAGE), "libolm: Alice still sends pre-key messages")
            precondition(Array(bob.decrypt(answer)) == hello, "libolm: Bob could not read Alice's answer")
        }
    }
}
