# Orchion build targets. `make test` is the test command CI runs (see README.md).
SWIFT ?= swift
PROTOC ?= protoc
BIN_PATH = $(shell $(SWIFT) build --show-bin-path)
RELEASE_BIN_PATH = $(shell $(SWIFT) build -c release --show-bin-path)
ARCH := $(shell uname -m)

# `orchion` with the Swift runtime and Foundation linked in (only glibc, libstdc++, zlib and
# SQLite from the system), so it runs where no Swift toolchain is. The archives are named in
# one group: linked statically, Foundation and CoreFoundation refer to each other, and the
# linker would otherwise drop what a later archive still needs. A plain build always runs
# first: objects compiled with --static-swift-stdlib autolink the static-only libraries
# (CoreFoundation…), and a later plain link of anything sharing them would fail; compiled
# plainly, they link either way, so the static step only links.
STATIC_FOUNDATION = Foundation CoreFoundation FoundationEssentials FoundationInternationalization \
	_FoundationCollections _FoundationCShims _FoundationICU FoundationNetworking \
	_CFURLSessionInterface swiftSynchronization
# FoundationNetworking (which the MCP SDK's HTTP client code references) links libcurl: the
# system's shared one (libcurl4, present wherever curl is: the one-line install fetches with
# curl); linking needs Debian's libcurl4-openssl-dev.
STATIC_LINK = --static-swift-stdlib -Xlinker --start-group \
	$(foreach lib,$(STATIC_FOUNDATION),-Xlinker -l$(lib)) -Xlinker --end-group -Xlinker -lcurl

.PHONY: all install-tools proto check-proto build release dist bench prerequisites test fmt clean

all: build

# Builds the protoc plugins from the pinned swift-protobuf and grpc-swift-protobuf.
# protoc itself comes from Debian's protobuf-compiler (apt-get install protobuf-compiler libprotobuf-dev grpc-proto).
install-tools:
	$(SWIFT) build --product protoc-gen-swift
	$(SWIFT) build --product protoc-gen-grpc-swift-2

# Regenerates Sources/OrchionAPI from api/ (and grpc.health.v1).
proto: install-tools
	scripts/generate-proto.sh Sources/OrchionAPI "$(BIN_PATH)"

# Fails when the committed generated code differs from what `make proto` would produce.
check-proto: install-tools
	scripts/check-generated-code.sh "$(BIN_PATH)"

build:
	$(SWIFT) build --product orchion
	$(SWIFT) build --product orchion $(STATIC_LINK)
	mkdir -p bin
	cp "$(BIN_PATH)/orchion" bin/orchion
	cp "$(BIN_PATH)/orchion" bin/orchestrator

release:
	$(SWIFT) build -c release --product orchion
	mkdir -p bin
	cp "$(RELEASE_BIN_PATH)/orchion" bin/orchion
	cp "$(RELEASE_BIN_PATH)/orchion" bin/orchestrator

# The self-contained release binary other machines install (README: "Installing on other
# machines"): optimised, linked as STATIC_LINK says, stripped, with its SHA-256 beside it.
# `orchion server` and `orchion up` serve dist/ builds at /download.
dist:
	$(SWIFT) build -c release --product orchion
	$(SWIFT) build -c release --product orchion $(STATIC_LINK)
	mkdir -p dist
	cp "$(RELEASE_BIN_PATH)/orchion" dist/orchion-linux-$(ARCH)
	strip dist/orchion-linux-$(ARCH)
	cd dist && sha256sum orchion-linux-$(ARCH) > orchion-linux-$(ARCH).sha256
	@ls -l dist/orchion-linux-$(ARCH) && cat dist/orchion-linux-$(ARCH).sha256

# The load generators and fault injectors (BENCHMARKS.md), release-built beside the `orchion`
# they measure: bin/orchion-bench starts bin/orchion.
bench: release
	$(SWIFT) build -c release --product orchion-bench
	cp "$(RELEASE_BIN_PATH)/orchion-bench" bin/orchion-bench

# Installs what a fresh machine lacks (scripts/test-prerequisites.sh: Debian packages, and the
# tests' Python packages into .venv-test).
prerequisites:
	scripts/test-prerequisites.sh

# Checks the generated code is current, builds the binaries the end-to-end tests start
# (`orchion`, and `orchion-bench`, whose commands have tests too) and the test bundle, starts
# the throwaway PostgreSQL the store tests use (scripts/test-postgres.sh), then runs every test
# without rebuilding, failing if the run touched $HOME/.orchion; last, it builds a throwaway
# package that uses the OrchionClient library from outside (scripts/check-client-package.sh),
# so the published library keeps building. Building these products rather than
# `--build-tests` (every target of every package) skips the C++ protoc that
# grpc-swift-protobuf's unused build plugin would compile: half the build on a clean machine.
# `orchion` is linked as `make dist` links it (STATIC_LINK): the tests run the self-contained
# binary, and one of them runs it with the Swift toolchain hidden.
test: prerequisites check-proto
	$(SWIFT) build --product orchion
	$(SWIFT) build --product orchion-bench
	$(SWIFT) build --product orchionPackageTests
	$(SWIFT) build --product orchion $(STATIC_LINK)
	scripts/test-postgres.sh
	PATH="$(CURDIR)/.venv-test/bin:$$PATH" scripts/with-home-untouched.sh $(SWIFT) test --skip-build --parallel --num-workers 2
	scripts/check-client-package.sh

fmt:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build bin dist
