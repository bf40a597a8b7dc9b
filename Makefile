# Thin wrapper over the CMake presets (CMakePresets.json). The two commands of the README:
#   make run    install what is missing, build (release) and run natsd with defaults
#   make test   install what is missing, build (dev) and run the whole test suite
PRESET ?= dev
ARGS ?=

.PHONY: all run test build deps deps-test format format-check bench clean

all: build

deps:
	@sh .ci/install-deps build

deps-test:
	@sh .ci/install-deps test

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

run: deps
	cmake --preset release >/dev/null
	cmake --build --preset release
	./build/release/daemon/natsd $(ARGS)

test: deps-test
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)
	ctest --preset $(PRESET)

bench: deps-test
	cmake --preset bench >/dev/null
	cmake --build --preset bench
	./build/bench/bench/bench_runtime
	./build/bench/bench/natsd-bench compare --natsd build/bench/daemon/natsd $(ARGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
