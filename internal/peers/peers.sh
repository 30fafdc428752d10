#!/bin/sh
# make bench-peers: mesaopt against DEAP on the same machine, interleaved
# A B A B so that both sides see the same load, with the ratio of each pair.
#
#   dispatch, batch 4:  BenchmarkDispatchProcesses/batch-4 (2 simulated worker
#                       processes over loopback TCP, zero-cost evaluations of
#                       4,096 individuals) against multiprocessing.Pool(2).map
#                       with chunksize 4 over 4,096 individuals
#   dispatch, auto:     BenchmarkDispatchProcesses/auto against Pool(2).map's
#                       default chunk size
#   GA step:            BenchmarkGANext (population 48) against DEAP's
#                       tournament selection + uniform crossover + gaussian
#                       mutation on 48 individuals of 504 floats (the
#                       heuristic genome's length)
#
# Ratios above 1 mean mesaopt is faster. Needs Debian's python3-deap, which
# the Makefile target installs when missing. Usage: peers.sh [rounds]
set -eu
rounds=${1:-3}
here=$(dirname "$0")
py=/usr/bin/python3
bin=${BIN:-bin}
mkdir -p "$bin"
go test -c -o "$bin/dispatch.test" ./coordinator/dispatch
go test -c -o "$bin/coordinator.test" ./coordinator

# gobench BINARY BENCH UNIT: the value reported in UNIT by one benchmark run.
gobench() {
	"$1" -test.run '^$' -test.bench "$2" -test.benchtime "${BENCHTIME:-2s}" |
		awk -v unit="$3" '/^Benchmark/ { for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }'
}
deap() { "$py" "$here/deap_bench.py" "$@" | awk '{ print $2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6g", a / b }'; }
shown() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "round  figure              mesaopt           DEAP              mesaopt/DEAP"
for r in $(seq "$rounds"); do
	a=$(gobench "$bin/dispatch.test" 'BenchmarkDispatchProcesses/batch-4$' evals/s)
	b=$(deap dispatch --population 4096 --length 8 --chunk 4)
	printf "%-6s %-19s %-17s %-17s %s\n" "$r" "dispatch batch 4" "$a evals/s" "$(printf %.0f "$b") evals/s" "$(shown "$a" "$b")"
	a=$(gobench "$bin/dispatch.test" 'BenchmarkDispatchProcesses/auto$' evals/s)
	b=$(deap dispatch --population 4096 --length 8 --chunk 0)
	printf "%-6s %-19s %-17s %-17s %s\n" "$r" "dispatch auto" "$a evals/s" "$(printf %.0f "$b") evals/s" "$(shown "$a" "$b")"
	a=$(gobench "$bin/coordinator.test" 'BenchmarkGANext$' ns/op)
	b=$(deap ga --population 48 --length 504)
	# Times: DEAP's over mesaopt's, so that above 1 is faster here too.
	printf "%-6s %-19s %-17s %-17s %s\n" "$r" "GA step" "$(ratio "$a" 1000) µs" "$(ratio "$b" 0.000001) µs" "$(shown "$b" "$(ratio "$a" 1000000000)")"
done
