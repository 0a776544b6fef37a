# wspharness: convenience targets around meson/ninja.
#   make            native build in build/ (installs missing Debian packages first)
#   make build-win  mingw-w64 cross build in build-win/ (tests run under Wine)
#   make demo       run the harness on the mock base provider, JUnit report in build/demo/
#   make check      both builds, then both test suites
#   make bench      benchmarks (bench/run.sh, when there is one)
#   make clean      remove both build folders

.DEFAULT_GOAL := build

MESON ?= meson
NINJA ?= ninja
CROSS_FILE := cross/x86_64-w64-mingw32.txt
DEMO_PROVIDER := build/providers/mockbase/mockbase.so
DEMO_REPORT := build/demo/junit.xml

# Wine, for everything that touches build-win/ (meson's exe_wrapper sanity check at setup
# time, the tests): a private prefix in the build folder, no debug noise, no Mono/Gecko prompts.
WINE_ENV_TARGETS := build-win check
$(WINE_ENV_TARGETS): export WINEPREFIX := $(CURDIR)/build-win/wineprefix
$(WINE_ENV_TARGETS): export WINEDEBUG := -all
$(WINE_ENV_TARGETS): export WINEDLLOVERRIDES := mscoree,mshtml=

.PHONY: setup-native setup-win setup-browser build build-win demo check bench clean

setup-native:
	tools/setup.sh native

setup-win:
	tools/setup.sh win

setup-browser:
	tools/setup.sh browser

build: setup-native
	@test -f build/build.ninja || $(MESON) setup build
	$(NINJA) -C build

build-win: setup-win
	@test -f build-win/build.ninja || $(MESON) setup --cross-file $(CROSS_FILE) build-win
	$(NINJA) -C build-win

demo: build
	@mkdir -p build/demo
	@rc=0; \
	build/harness/wspharness run $(DEMO_PROVIDER) --non-ifs --ifs --junit $(DEMO_REPORT) || rc=$$?; \
	echo "JUnit report: $(CURDIR)/$(DEMO_REPORT)"; \
	exit $$rc

# Before the tests: a wineserver for build-win's own prefix that stays up 60 s after its last
# client (a cold start costs about 3 s per test, a warm one a few ms; it exits by itself a minute
# after the last test). A server still running from meson's setup-time check has a 3 s
# persistence, so it is stopped first (it saves the registry). Then a trivial program creates
# the prefix if it is missing (6-9 s) and warms up.
check: build build-win setup-browser
	@mkdir -p "$$WINEPREFIX"
	@wineserver -k >/dev/null 2>&1 || true
	@wineserver -p60 >/dev/null 2>&1 || true
	@wine cmd /c exit >/dev/null 2>&1 || true
	@rc=0; \
	$(MESON) test -C build --print-errorlogs || rc=1; \
	$(MESON) test -C build-win --print-errorlogs || rc=1; \
	if [ $$rc -ne 0 ]; then echo "check: FAILED (see the test logs above)" >&2; fi; \
	exit $$rc

bench:
	@if [ -x bench/run.sh ]; then \
		bench/run.sh; \
	elif [ -f bench/run.sh ]; then \
		sh bench/run.sh; \
	else \
		echo "bench: no benchmarks exist yet (bench/run.sh is missing)"; \
	fi

clean:
	rm -rf build build-win
