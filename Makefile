# kiln: one-command setup. `make test` and `make demo` work on a fresh machine.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON := /usr/bin/python3

.PHONY: all deps configure build test demo bench format format-check docs \
        sanitize clean install

all: build

deps:
	@./scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	@$(MAKE) --no-print-directory deps
	CC=clang-22 CXX=clang++-22 cmake -S . -B $(BUILD_DIR) -G Ninja \
	  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@./scripts/run-tests.sh $(BUILD_DIR)

demo: build
	@./scripts/demo.sh $(BUILD_DIR)

bench: build
	@./test/bench/run.sh $(BUILD_DIR)

format:
	@./scripts/format.sh fix

format-check:
	@./scripts/format.sh check

docs: build
	cmake --build $(BUILD_DIR) --target kiln-docs

sanitize:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD_DIR=build-sanitize \
	  CMAKE_FLAGS="-DKILN_SANITIZE=ON" build
	@KILN_SANITIZE=1 ./scripts/run-tests.sh build-sanitize

clean:
	rm -rf $(BUILD_DIR) build-sanitize
