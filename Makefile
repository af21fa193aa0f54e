# FluffleFS: `make run` shows it, `make test` proves it (see README.md).
SHELL := /bin/bash
CLANG ?= clang-19
BPF_SRC := $(wildcard bpf/*.c)
BPF_OBJ := $(patsubst bpf/%.c,build/bpf/%.o,$(BPF_SRC))

.PHONY: all deps build run test test-host test-vm bpf bench bench-core bench-csd bench-ebpf bench-scale fuzz-smoke clean

all: build

deps:
	scripts/install-deps.sh

build:
	scripts/build.sh

run:
	scripts/demo.sh

test:
	scripts/test.sh

test-host: deps
	cd userland && cargo test --workspace

test-vm:
	vm/run

bpf: $(BPF_OBJ)

build/bpf/%.o: bpf/%.c $(wildcard bpf/*.h)
	@mkdir -p build/bpf
	$(CLANG) -target bpf -O2 -g -Wall -Werror -I bpf -c $< -o $@

bench:
	scripts/bench.sh

bench-core:
	scripts/bench-core.sh

bench-scale:
	scripts/bench-scale.sh

bench-csd:
	scripts/bench-csd.sh

bench-ebpf:
	scripts/bench-ebpf.sh

fuzz-smoke:
	scripts/fuzz-smoke.sh

clean:
	rm -rf build userland/target
