# kiln: one-command setup. `make test` and `make demo` work on a fresh machine.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON := /usr/bin/python3

.PHONY: all deps configure build test demo bench format format-check docs \
        sanitize sanitize-configure fuzz-build fuzz clean install

all: build

# ccache keys on paths relative to the checkout, so a fresh clone (CI's)
# reuses the objects of another.
export CCACHE_BASEDIR ?= $(CURDIR)

deps:
	@./scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	@$(MAKE) --no-print-directory deps
	CC=clang-22 CXX=clang++-22 cmake -S . -B $(BUILD_DIR) -G Ninja \
	  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build fuzz-build
	@./scripts/run-tests.sh $(BUILD_DIR)

demo: build
	@./scripts/demo.sh $(BUILD_DIR)

# BENCH: names from test/bench/run.sh (default: its default set);
# `make bench BENCH=bigmodel` is issue 12's 1.1e9-parameter compile.
bench: build
	@./test/bench/run.sh $(BUILD_DIR) $(BENCH)

format:
	@./scripts/format.sh fix

format-check:
	@./scripts/format.sh check

# Installs headers, libraries, tools, the Python package and the CMake
# package config (find_package(kiln)) into $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
install: build

# ccache keys on paths relative to the checkout, so a fresh clone (CI's)
# reuses the objects of another.
export CCACHE_BASEDIR ?= $(CURDIR)
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR) --prefix "$(PREFIX)"

docs: build
	cmake --build $(BUILD_DIR) --target kiln-docs

# The sanitizer build (ASan + UBSan, with libFuzzer coverage) in
# build-sanitize: `make sanitize` runs the test suites on it; the fuzz
# targets are built there too.
SANITIZE_DIR := build-sanitize
sanitize-configure:
	@$(MAKE) --no-print-directory deps
	@test -f $(SANITIZE_DIR)/build.ninja || \
	  CC=clang-22 CXX=clang++-22 cmake -S . -B $(SANITIZE_DIR) -G Ninja \
	    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
	    -DKILN_SANITIZE=ON -DKILN_FUZZ=ON

sanitize: sanitize-configure
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	@KILN_SANITIZE=1 ./scripts/run-tests.sh $(SANITIZE_DIR)

fuzz-build: sanitize-configure
	cmake --build $(SANITIZE_DIR) -j $(JOBS) --target kiln-fuzz-onnx \
	  kiln-fuzz-npy kiln-fuzz-artifact kiln-fuzz-safetensors

# Longer fuzzing sessions: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	@./scripts/fuzz-smoke.sh $(SANITIZE_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) build-sanitize
