#!/usr/bin/env bash
# bench/compare.sh BASE: the figures a change moves, for two builds side by side in one sitting
# (never compare across runs). BASE is another checkout with its build/ made (e.g. `git archive
# OLD | tar -x -C /tmp/base`, then meson setup + ninja there); this checkout's build/ is "after".
# Prints, per build: the 1,000,000-upcall scenario (child alone, the whole isolated run, in-process:
# seconds and peak RSS) and the isolated throughput of N trivial scenarios against the fork floor.
# Knobs: BENCH_UPCALLS (default 1000000), BENCH_N (default 100), BENCH_REPS (default 3).
set -u
BASE=$(cd "$1" && pwd)
AFTER=$(cd "$(dirname "$0")/.." && pwd)
UP=${BENCH_UPCALLS:-1000000}
N=${BENCH_N:-100}
REPS=${BENCH_REPS:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsph-compare.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TARGETS="harness/wspharness providers/mockbase/mockbase.so bench/bench_timecmd bench/benchprov.so bench/bench_forkloop"
for R in "$BASE" "$AFTER"; do
	# shellcheck disable=SC2086
	ninja -C "$R/build" $TARGETS >/dev/null || { echo "compare: build failed in $R"; exit 1; }
done
. "$AFTER/bench/common.sh" # median, trivial
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "before: $BASE; after: $AFTER ($(git -C "$AFTER" rev-parse --short HEAD))"
trivial "$TMP/trivial" "$N"
res() { awk '$1 == "RESULT" { printf "%6.2f s %8.1f MiB", $2, $3 / 1024 }' "$1"; }
echo
echo "one scenario, $UP upcalls (bench/benchprov.c): seconds and peak RSS"
for n in 0 "$UP"; do
	for R in "$BASE" "$AFTER"; do
		H=$R/build/harness/wspharness T=$R/build/bench/bench_timecmd
		A=(run "$R/build/bench/benchprov.so" --non-ifs --scenarios "$AFTER/bench/scenarios/million.yaml" --timeout 900)
		# the child alone (both builds have the persistent child: "C 0" runs case 0, "Q" ends)
		printf 'C 0\nQ\n' | WSPH_BENCH_UPCALLS=$n $T -- "$H" --child "${A[@]}" >"$TMP/c"
		WSPH_BENCH_UPCALLS=$n $T -- "$H" "${A[@]}" >"$TMP/f"
		WSPH_BENCH_UPCALLS=$n $T -- "$H" "${A[@]}" --no-isolation >"$TMP/i"
		printf '  %-6s %8d upcalls: child %s | whole isolated run %s | in-process %s\n' \
			"$([ "$R" = "$BASE" ] && echo before || echo after)" "$n" "$(res "$TMP/c")" "$(res "$TMP/f")" "$(res "$TMP/i")"
	done
done
echo
echo "$N trivial scenarios, isolated (median of $REPS, interleaved), against the fork floor"
: >"$TMP/b.s"; : >"$TMP/a.s"; : >"$TMP/f.s"
for ((r = 0; r < REPS; r++)); do
	$BASE/build/bench/bench_timecmd -- "$BASE/build/harness/wspharness" run "$BASE/build/providers/mockbase/mockbase.so" --non-ifs --scenarios "$TMP/trivial" | awk '{ print $2 }' >>"$TMP/b.s"
	$AFTER/build/bench/bench_timecmd -- "$AFTER/build/harness/wspharness" run "$AFTER/build/providers/mockbase/mockbase.so" --non-ifs --scenarios "$TMP/trivial" | awk '{ print $2 }' >>"$TMP/a.s"
	"$AFTER/build/bench/bench_forkloop" "$N" | awk '{ print $3 }' >>"$TMP/f.s"
done
TB=$(median <"$TMP/b.s"); TA=$(median <"$TMP/a.s"); TF=$(median <"$TMP/f.s")
awk -v b="$TB" -v a="$TA" -v f="$TF" -v n="$N" 'BEGIN {
	printf "  fork+_exit+waitpid loop  %6.2f ms/case (the floor)\n", f * 1000 / n
	printf "  before, isolated         %6.2f ms/case  %.2fx the floor\n", b * 1000 / n, b / f
	printf "  after, isolated          %6.2f ms/case  %.2fx the floor\n", a * 1000 / n, a / f
}'
