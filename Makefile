# Thin wrapper around CMake. The two commands a newcomer needs:
#   make demo    install what the build needs, build, run mailvet on examples/
#   make check   install that and the tests' peers, build twice (plain and
#                sanitized), run every test
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
BUILD    ?= build
ASAN     ?= build-asan
FUZZB    ?= build-fuzz
FUZZ_SECONDS ?= 20
PREFIX   ?= /usr/local

.PHONY: all deps deps-test build demo check check-style check-plain check-asan check-fuzz fuzz install install-user deb clean

all: build

deps:
	@scripts/install-deps

deps-test:
	@scripts/install-deps --test

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: deps
	@echo "building (quietly) into $(BUILD)/ ..."
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) >/dev/null
	@scripts/demo $(BUILD)/mailvet

check: deps-test check-style check-plain check-asan check-fuzz
	@echo "make check: all passed"

check-style:
	@scripts/check-style

check-plain:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

check-asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DMV_SANITIZE=ON >/dev/null
	cmake --build $(ASAN) -j$(JOBS)
	ctest --test-dir $(ASAN) --output-on-failure -j$(JOBS)

$(FUZZB)/.configured:
	CC=clang cmake -S . -B $(FUZZB) -DCMAKE_BUILD_TYPE=Debug -DMV_FUZZ=ON >/dev/null
	touch $@

check-fuzz: $(FUZZB)/.configured
	cmake --build $(FUZZB) -j$(JOBS)
	scripts/run-fuzzers $(FUZZB) $(FUZZ_SECONDS)

fuzz: $(FUZZB)/.configured
	cmake --build $(FUZZB) -j$(JOBS)
	scripts/run-fuzzers $(FUZZB) $${FUZZ_SECONDS:-600}

# make install [PREFIX=/usr/local] [DESTDIR=...]: the two programs (only they are
# built: no test), man pages, the systemd unit (its ExecStart is $(PREFIX)/sbin/mailvetd)
# and /etc/mailvet/mailvet.conf when there is none (contrib/install.cmake). An existing
# build directory keeps its configuration (build type, sanitizers).
install:
	@test -f $(BUILD)/CMakeCache.txt || \
		cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS) --target mailvet-cli mailvetd
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

# The system user the unit runs as (the Debian package makes it itself).
install-user:
	getent passwd mailvet >/dev/null || \
		adduser --system --group --home /var/lib/mailvet --no-create-home mailvet

# make deb: the Debian package from a copy of this tree, into $(BUILD)/deb/.
deb:
	@scripts/install-deps --deb
	contrib/build-deb $(BUILD)/deb

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZB)
