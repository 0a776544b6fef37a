# Helpers shared by bench/run.sh and bench/compare.sh (sourced, not run).

# median of the numbers on stdin ("nan" when there are none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# trivial DIR COUNT: COUNT files of one trivial scenario each (one WSPStartup and its WSPCleanup)
trivial() {
	mkdir -p "$1"
	awk -v d="$1" -v n="$2" 'BEGIN {
		for (i = 1; i <= n; i++) {
			f = sprintf("%s/t%05d.yaml", d, i)
			printf "scenarios:\n  - name: trivial\n    description: one WSPStartup and its WSPCleanup\n" > f
			printf "    kinds: [nonifs]\n    checks: [SPI.Cleanup.SuccessReturnsZero]\n    steps:\n" > f
			printf "      - startup: {version: \"2.2\"}\n      - cleanup:\n" > f
			close(f)
		}
	}'
}
