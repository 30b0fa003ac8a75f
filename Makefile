# The README's two commands: `make demo` and `make test`. Each installs what is missing first.
SWIFT ?= swift

.PHONY: all build demo test hardware-test bench fuzz faults bootstrap clean install uninstall

all: build

bootstrap:
	@scripts/bootstrap build

build: bootstrap
	$(SWIFT) build

demo: bootstrap
	$(SWIFT) build --product proton
	$$($(SWIFT) build --show-bin-path)/proton demo

# A crash in the suite prints only the crashed thread's frames, so that the end of a CI log shows them.
test:
	@scripts/bootstrap test
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual
	SWIFT_BACKTRACE=enable=yes,threads=crashed,registers=none,images=none,limit=48 scripts/postgres run $(SWIFT) test --skip-build
	$(SWIFT) run --skip-build TwoProfilesExample
	SWIFT=$(SWIFT) scripts/fuzz smoke $(FUZZ_SMOKE_SECONDS)
	Tests/Model/check
	Hardware/vm-test --proton "$$($(SWIFT) build --show-bin-path)/proton"

# Real BlueZ RFCOMM pairing between two virtual controllers in a throw-away VM (Hardware/README.md).
hardware-test: bootstrap
	$(SWIFT) build --product proton
	Hardware/vm-test --proton "$$($(SWIFT) build --show-bin-path)/proton"

# Every libFuzzer target for FUZZ_SECONDS each, FUZZ_JOBS at a time (docs/reliability.md);
# FUZZ_RUNS=N stops each after N executions. Findings land in Tests/FuzzRegressions/.
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 2
FUZZ_SMOKE_SECONDS ?= 3
fuzz: bootstrap
	SWIFT=$(SWIFT) scripts/fuzz run release $(FUZZ_SECONDS) $(FUZZ_JOBS)

# The fault-injection run at full size, on the release `proton` that users install (the suite
# runs the debug one): FAULT_MESSAGES each way per fault kind, figures
# appended to FAULT_FIGURES (docs/reliability.md); FAULT_KINDS=fullDisk,clockSkew runs some
# kinds only.
FAULT_MESSAGES ?= 10000
FAULT_FIGURES ?= fault-figures.md
FAULT_KINDS ?=
faults: bootstrap
	$(SWIFT) build --build-tests
	$(SWIFT) build -c release --product proton
	PROTON_CLI="$$($(SWIFT) build -c release --show-bin-path)/proton" PROTON_FAULT_MESSAGES=$(FAULT_MESSAGES) PROTON_FAULT_FIGURES=$(abspath $(FAULT_FIGURES)) $(if $(FAULT_KINDS),PROTON_FAULT_KINDS=$(FAULT_KINDS)) $(SWIFT) test --skip-build --filter FaultInjectionTests

# A release `proton` in $(DESTDIR)$(PREFIX)/bin, with bash, zsh and fish completions and a
# man page (scripts/install); `make uninstall` removes exactly those files.
PREFIX ?= /usr/local
DESTDIR ?=
install: bootstrap
	$(SWIFT) build -c release --product proton
	$(SWIFT) build -c release --product generate-manual
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install install "$$($(SWIFT) build -c release --show-bin-path)/proton" "$$($(SWIFT) build -c release --show-bin-path)/generate-manual"

uninstall:
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install uninstall

bench:
	@scripts/bootstrap bench
	cd Benchmarks && ../scripts/postgres run $(SWIFT) package --allow-writing-to-package-directory benchmark --target ProtonBenchmarks --format markdown --no-progress
	cd Benchmarks && PROTON_ALTERNATE=20 ../scripts/postgres run $(SWIFT) run -c release ReceivingMemory
	Benchmarks/.venv/bin/python Benchmarks/Vodozemac/bench.py
	cd Benchmarks && $(SWIFT) run -c release ReceivingMemory
	cd Benchmarks && PROTON_MEMORY_BACKEND=postgres ../scripts/postgres run $(SWIFT) run -c release ReceivingMemory
	cd Benchmarks && PROTON_WITNESS_CHECKPOINTS=100000 $(SWIFT) run -c release ReceivingMemory

clean:
	rm -rf .build Benchmarks/.build .build-hardware Fuzz/.build-debug Fuzz/.build-release
