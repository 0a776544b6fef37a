# wspharness: convenience targets around meson/ninja.
#   make            native build in build/ (installs missing Debian packages first)
#   make build-win  mingw-w64 cross build in build-win/ (tests run under Wine)
#   make demo       build only what it needs, run the harness on the mock base provider (JUnit
#                   report and HTML matrix in build/demo/), then print what to do next
#   make example-win build only the Windows harness and the example provider's DLL
#                   (examples/minimal-provider/) in build-win/, and make its Wine prefix headless
#   make check      all builds, then every test suite: native, Wine, ASan+UBSan (build-asan/),
#                   and the native end-to-end tests under valgrind
#   make build-asan native build with ASan+UBSan in build-asan/
#   make build-fuzz the libFuzzer targets (YAML loaders, command line, trace reader; clang) in build-fuzz/
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (default 60), seeded from the corpus
#   make bench      benchmarks (bench/run.sh, when there is one)
#   make clean      remove the build folders

.DEFAULT_GOAL := build

MESON ?= meson
NINJA ?= ninja
CROSS_FILE := cross/x86_64-w64-mingw32.txt
DEMO_PROVIDER := build/providers/mockbase/mockbase.so
DEMO_REPORT := build/demo/junit.xml
DEMO_MATRIX := build/demo/matrix.html
# What make demo builds: the harness, the provider it runs (the scenarios are read from the source
# tree) and the example provider its closing hints run; not the tests or the faulty providers.
DEMO_TARGETS := harness/wspharness providers/mockbase/mockbase.so \
	examples/minimal-provider/minimal-provider.so
# The example provider (README, "Test your provider") and the bundled scenarios it passes: the
# lifecycle and the socket handles; the rest needs connections it does not make.
EXAMPLE_SO := build/examples/minimal-provider/minimal-provider.so
EXAMPLE_DLL := build-win/examples/minimal-provider/minimal-provider.dll
EXAMPLE_WIN_TARGETS := harness/wspharness.exe examples/minimal-provider/minimal-provider.dll
EXAMPLE_FILTER := lifecycle.*:sockets.nonifs/*:sockets.handles/*:sockets.stale/stale-*:-*/errors-are-documented*
FUZZ_SECONDS ?= 60
# The valgrind pass: any memory error or definitely lost block fails the test (exit 99). It runs
# the suites below (each harness run costs about a second more under valgrind); every suite runs
# under ASan+UBSan anyway. VALGRIND_SUITES="e2e layered faulty" covers mockbase and the faulty
# providers too (several minutes more).
# --exit-on-first-error ends a case's child at its first error, so the case is an <error>; a leak
# found when a child exits makes the last case it ran an <error type="exit-after-case">.
VALGRIND := valgrind -q --error-exitcode=99 --exit-on-first-error=yes --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
VALGRIND_SUITES ?= layered

# Wine, for everything that touches build-win/ (meson's exe_wrapper sanity check at setup
# time, the tests): a private prefix in the build folder, no debug noise, no Mono/Gecko prompts.
WINE_ENV_TARGETS := build-win check example-win
$(WINE_ENV_TARGETS): export WINEPREFIX := $(CURDIR)/build-win/wineprefix
$(WINE_ENV_TARGETS): export WINEDEBUG := -all
$(WINE_ENV_TARGETS): export WINEDLLOVERRIDES := mscoree,mshtml=

# Sanitizers (build-asan/, build-fuzz/): the first finding stops the program with a stack
# trace and an abort, so no test can pass over one. UBSan is also built with
# -fno-sanitize-recover=all.
SAN_TARGETS := check fuzz
$(SAN_TARGETS): export ASAN_OPTIONS := \
	halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1
$(SAN_TARGETS): export UBSAN_OPTIONS := halt_on_error=1:abort_on_error=1:print_stacktrace=1

.PHONY: setup-native setup-win setup-browser setup-fuzz setup-valgrind build build-win build-asan \
	build-fuzz demo example-win check fuzz bench clean

setup-native:
	tools/setup.sh native

setup-win:
	tools/setup.sh win

setup-browser:
	tools/setup.sh browser

setup-fuzz:
	tools/setup.sh fuzz

setup-valgrind:
	tools/setup.sh valgrind

build: setup-native
	@test -f build/build.ninja || $(MESON) setup build
	$(NINJA) -C build

build-win: setup-win
	@test -f build-win/build.ninja || $(MESON) setup --cross-file $(CROSS_FILE) build-win
	$(NINJA) -C build-win
	@tools/wine-prefix.sh "$$WINEPREFIX"

# Everything, providers included: they bind to symbols of the sanitized program, so they are built
# with the same flags (b_lundef=false: their sanitizer symbols come from the program).
build-asan: setup-native
	@test -f build-asan/build.ninja || $(MESON) setup build-asan -Dbuildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all \
		-Dfuzz=disabled
	$(NINJA) -C build-asan

# clang with libFuzzer, ASan and UBSan; only the two fuzz targets are built (a few files each).
FUZZ_TARGETS := fuzz/fuzz_scenario fuzz/fuzz_rules fuzz/fuzz_errtable fuzz/fuzz_options fuzz/fuzz_glob \
	fuzz/fuzz_json
build-fuzz: setup-fuzz
	@test -f build-fuzz/build.ninja || CC=clang $(MESON) setup build-fuzz \
		-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dfuzz=enabled
	$(NINJA) -C build-fuzz $(FUZZ_TARGETS)

demo: setup-native
	@test -f build/build.ninja || $(MESON) setup build
	$(NINJA) -C build $(DEMO_TARGETS)
	@mkdir -p build/demo
	@rc=0; \
	build/harness/wspharness run $(DEMO_PROVIDER) --non-ifs --ifs --junit $(DEMO_REPORT) \
		--report matrix-html:$(DEMO_MATRIX) || rc=$$?; \
	echo "JUnit report: $(CURDIR)/$(DEMO_REPORT)"; \
	echo "HTML matrix:  $(CURDIR)/$(DEMO_MATRIX)"; \
	printf '%s\n' "" \
	"Next (README, \"Test your provider\"):" \
	"  1. Run your own provider. The example one (examples/minimal-provider/minimal.c) is built:" \
	"       build/harness/wspharness run $(EXAMPLE_SO) --non-ifs --filter '$(EXAMPLE_FILTER)'" \
	"     and its Windows build under Wine (make example-win builds the Windows harness and the DLL):" \
	"       make example-win" \
	"       export WINEPREFIX=\$$PWD/build-win/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml=" \
	"       wine build-win/harness/wspharness.exe run $(EXAMPLE_DLL) --non-ifs --filter '$(EXAMPLE_FILTER)'" \
	"     Put your own .so or .dll in its place." \
	"  2. Write a scenario (README, \"Write a scenario\"), starting from the example one:" \
	"       cp examples/scenarios/first.yaml my-scenario.yaml" \
	"       build/harness/wspharness run $(EXAMPLE_SO) --non-ifs --scenarios my-scenario.yaml" \
	"  3. Open the conformance matrix of this run in a browser:" \
	"       xdg-open $(DEMO_MATRIX)"; \
	exit $$rc

# The Windows harness and the example's DLL only (not the whole Windows build), and the headless
# Wine prefix; the README ("Test your provider") and make demo's hints give the command that runs it.
example-win: setup-win
	@test -f build-win/build.ninja || $(MESON) setup --cross-file $(CROSS_FILE) build-win
	$(NINJA) -C build-win $(EXAMPLE_WIN_TARGETS)
	@tools/wine-prefix.sh "$$WINEPREFIX"

# Before the tests: the prefix is made headless (tools/wine-prefix.sh: Wine's null graphics
# driver, no debugger on crashes). Right before the Wine suite (not before the native one, which
# runs longer than the server would wait), a wineserver for build-win's own prefix is started to
# stay up 60 s after its last client, and a trivial program starts Wine's system processes with
# its output to /dev/null. Without that, a test's first Windows program starts a server of its own
# that exits 3 s after it (each later test paid ~3 s to start another), and the system processes
# it starts inherit that test's output pipes and hold them until the server exits (a test that
# reads them waited up to a minute). A server still running from meson's setup-time check has a
# 3 s persistence, so it is stopped first (it saves the registry).
WINE_WARM_UP := wineserver -k >/dev/null 2>&1; wineserver -w; wineserver -p60 >/dev/null 2>&1; \
	wine cmd /c exit >/dev/null 2>&1
check: build build-win setup-browser build-asan build-fuzz setup-valgrind
	@wineserver -k >/dev/null 2>&1 || true
	@tools/wine-prefix.sh "$$WINEPREFIX"
	@rc=0; \
	$(MESON) test -C build --print-errorlogs || rc=1; \
	$(WINE_WARM_UP); \
	$(MESON) test -C build-win --print-errorlogs || rc=1; \
	$(MESON) test -C build-asan --print-errorlogs || rc=1; \
	$(MESON) test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs || rc=1; \
	WSPH_HARNESS_WRAPPER="$(VALGRIND)" $(MESON) test -C build --timeout-multiplier 4 \
		$(addprefix --suite ,$(VALGRIND_SUITES)) --logbase valgrind --print-errorlogs || rc=1; \
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

# New inputs and findings are kept in build-fuzz/fuzz/<target>-corpus/.
fuzz: build-fuzz
	WSPH_FUZZ_SECONDS=$(FUZZ_SECONDS) $(MESON) test -C build-fuzz --suite fuzz --no-rebuild \
		--timeout-multiplier 0 --logbase fuzz --print-errorlogs

clean:
	rm -rf build build-win build-asan build-fuzz
