#!/usr/bin/env python3
"""vodozemac (Matrix's Rust successor to libolm) on the two ratchet workloads of `make bench`.

The same shapes as `libolm same-chain` and `libolm DH round trip` in ProtonBenchmarks: one Olm
session, the handshake completed both ways before measuring (pre-key message, Bob's reply,
Alice's answer), 1,024-byte random plaintexts; same-chain is Alice encrypting and Bob
decrypting with no reply, a round trip is Alice to Bob then Bob to Alice (a new chain and a DH
ratchet step each way). Through vodozemac's Python bindings (PyPI `vodozemac`): every encrypt
and decrypt is a call across the binding, so the figures include Python's call overhead and
are a lower bound on vodozemac itself. Prints a markdown table: ops/s (median of batches),
the best batch, and the median time per operation.
"""

import importlib.metadata
import os
import statistics
import sys
import time

import vodozemac

PLAINTEXT = os.urandom(1024)


def session_pair():
    alice, bob = vodozemac.Account(), vodozemac.Account()
    bob.generate_one_time_keys(1)
    one_time_key = next(iter(bob.one_time_keys.values()))
    outbound = alice.create_outbound_session(bob.curve25519_key, one_time_key)
    first = outbound.encrypt(b"hello")
    inbound, opened = bob.create_inbound_session(alice.curve25519_key, first.to_pre_key())
    assert opened == b"hello", "vodozemac: Bob could not read Alice's first message"
    assert outbound.decrypt(inbound.encrypt(b"hello")) == b"hello", "vodozemac: Alice could not read Bob's reply"
    assert inbound.decrypt(outbound.encrypt(b"hello")) == b"hello", "vodozemac: Bob could not read Alice's answer"
    return outbound, inbound


def measure(name, unit, step, batch, seconds):
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        start = time.perf_counter()
        for _ in range(batch):
            step()
        rates.append(batch / (time.perf_counter() - start))
    median = statistics.median(rates)
    print(f"| {name} | {median:,.0f} {unit} | {max(rates):,.0f} | {1e6 / median:,.1f} µs |")


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    version = importlib.metadata.version("vodozemac")
    print(f"vodozemac {version} through its Python bindings (Python call overhead included)\n")
    print("| Benchmark | ops/s (p50) | ops/s (best batch) | time/op (p50) |")
    print("| --- | ---: | ---: | ---: |")

    alice, bob = session_pair()

    def same_chain():
        assert len(bob.decrypt(alice.encrypt(PLAINTEXT))) == len(PLAINTEXT)

    measure("vodozemac same-chain 1 KiB (encrypt+decrypt)", "msg/s", same_chain, 1_000, seconds)

    alice, bob = session_pair()

    def round_trip():
        assert len(bob.decrypt(alice.encrypt(PLAINTEXT))) == len(PLAINTEXT)
        assert len(alice.decrypt(bob.encrypt(PLAINTEXT))) == len(PLAINTEXT)

    measure("vodozemac DH round trip 1 KiB (2 encrypt+2 decrypt)", "round trips/s", round_trip, 200, seconds)


if __name__ == "__main__":
    main()
