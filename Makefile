# retrobpf — every target installs what it needs when it is missing.
SHELL := /bin/bash
# pipefail: a failing test piped through tee must fail the target.
.SHELLFLAGS := -eo pipefail -c
GO ?= go
BIN := bin/retrobpf
KERNELS ?= 5.10,6.1,6.12
APT_PACKAGES := qemu-system-x86 clang llvm bpftool dwarves
GOFLAGS_BUILD := -trimpath
export CGO_ENABLED := 0

.PHONY: all build test demo bench bench-accuracy lint bpf deps deps-test deps-bpf fuzz \
        bench-probe bench-boot bench-btf bench-matrix bench-overhead clean

all: build

# apt_install installs the Debian packages named after each "command:package"
# pair whose command is missing.
define apt_install
	@missing=""; \
	for pair in $(1); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
endef

# deps installs the Debian packages running retrobpf's VMs and benchmarks needs.
deps:
	$(call apt_install,qemu-system-x86_64:qemu-system-x86 bpftool:bpftool pahole:dwarves)

# deps-test adds what only the tests need: Chromium renders the HTML report;
# libbpf-tools' binaries embed real libbpf-built objects that internal/objload
# must load.
deps-test: deps
	$(call apt_install,chromium:chromium /usr/sbin/biolatency:libbpf-tools)

# deps-bpf installs the compiler for regenerating the BPF objects.
deps-bpf:
	@command -v clang >/dev/null && command -v llvm-strip >/dev/null || { \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang llvm; }

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/retrobpf

# test runs lint (gofmt, vet, staticcheck), then every test: unit, testscript, host BPF loads (root) and the
# QEMU kernel matrix (5.10, 6.1, 6.12), plus a short fuzz pass.
test: deps-test build lint
	$(GO) test -timeout 40m -count=1 ./... 2>&1 | tee /tmp/retrobpf-test.log
	$(MAKE) fuzz

FUZZTIME ?= 10s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

demo: deps build
	$(BIN) run --manifest bpf/suite.yaml --kernels $(KERNELS) --output-dir demo-results

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bpf: deps-bpf
	$(GO) generate ./bpf/...

bench: bench-probe bench-boot bench-btf bench-matrix bench-overhead

bench-probe: deps build
	bash scripts/bench-probe.sh

bench-boot: deps build
	bash scripts/bench-boot.sh

bench-btf: deps build
	bash scripts/bench-btf.sh

bench-matrix: deps build
	bash scripts/bench-matrix.sh

bench-overhead: deps build
	bash scripts/bench-overhead.sh

# bench-accuracy: check's verdicts against real loads of every libbpf-tools
# program in 5.10, 6.1 and 6.12 (not part of `make bench`: ~10 min of VMs).
bench-accuracy: deps-test
	GO=$(GO) bash scripts/bench-accuracy.sh

clean:
	rm -rf bin demo-results
