import ProtonServices
import Testing

@Suite struct ListenAddressTests {
    @Test func parsesHostAndPort() {
        #expect(ListenAddress("127.0.0.1:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(ListenAddress("localhost:8080") == ListenAddress(host: "localhost", port: 8080))
        #expect(ListenAddress("[::1]:9000") == ListenAddress(host: "::1", port: 9000))
    }

    @Test(arguments: ["", "127.0.0.1", ":80", "host:", "host:70000", "host:-1", "host:http"])
    func refusesMalformed(_ text: String) {
        #expect(ListenAddress(text) == nil)
    }
}
