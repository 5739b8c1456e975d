#!/bin/sh
# device.sh runs the multi-core checks (the 16-core targets of
# docs/PERFORMANCE.md) in one go, on a machine that has many cores but no
# Go toolchain. Build the binaries first, from the repository root, on a
# machine that has one:
#
#	(cd bench && CGO_ENABLED=0 go test -c -o ../.device/bench.test .)
#	CGO_ENABLED=0 go test -c -o .device/poolimpl.test ./runtime/poolimpl
#
# then copy the repository, .device/ included, to the multi-core machine
# and run `sh bench/device.sh` from its root. It writes raw `go test
# -bench` output under $OUT (default /tmp/device-out), in about 9 minutes
# in all. Turn it into tables with
#
#	cd bench && go run ./cmd/report -in RAW -out SCALING.md -readme '' \
#		-title 'Scaling (16 vCPUs)' -notes NOTES.md
#
# (NOTES.md: the observations, written for the new run; the last run's are
# in results/device-2026-11-26/notes.md). The report draws every table as
# an SVG beside SCALING.md.
#
# Every step has its own time limit, so that a hang in one leaves the
# others' results.
set -u
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
bin=$(pwd)/.device
cpus=${CPUS:-1,2,4,8,16}
peers='poolgen-generated|chan|pond-go|gopool|go-waitgroup'

step() { # name limit-seconds dir binary args...
	name=$1 limit=$2 dir=$3
	shift 3
	echo "== $name ($(date -u +%T))"
	(cd "$dir" && timeout "$limit" "$@") >"$out/$name.txt" 2>&1
	echo "   exit $? ($(date -u +%T)), $(grep -c '^Benchmark' "$out/$name.txt") results"
}

nproc >"$out/machine.txt"
grep -m1 'model name' /proc/cpuinfo >>"$out/machine.txt"

# Bars: tiny tasks from one submitter <= 0.5x the typed-channel pool at 16;
# ~1 us tasks >= 8 M/s from 16 submitters and >= 5 M/s from one.
step tiny 120 bench "$bin/bench.test" -test.run '^$' -test.benchmem \
	-test.bench "BenchmarkTiny/submitters=.*/impl=($peers)\$" \
	-test.cpu "$cpus" -test.benchtime 200ms -test.count 3
step spin1us 150 bench "$bin/bench.test" -test.run '^$' -test.benchmem \
	-test.bench "BenchmarkSpin1us/submitters=.*/impl=($peers|inline)\$" \
	-test.cpu "$cpus" -test.benchtime 200ms -test.count 3
# Bar: fork-join at 16 cores >= 12x its 1-core throughput, ahead of peers.
step forkjoin 100 bench "$bin/bench.test" -test.run '^$' -test.benchmem \
	-test.bench 'BenchmarkForkJoin/tree=balanced/impl=(poolgen-stealing-generated|poolgen-generated|pond-go|errgroup|go-waitgroup)$' \
	-test.cpu 1,16 -test.benchtime 5x -test.count 3
step stealing 60 poolimpl "$bin/poolimpl.test" -test.run '^$' \
	-test.bench 'BenchmarkStealing(Fib|Unbalanced)$' \
	-test.cpu "$cpus" -test.benchtime 20x -test.count 2
# Bar: latency from scheduled arrival at 50% load, P99 <= 100 us at 16.
step latency16 120 bench "$bin/bench.test" -test.run '^$' \
	-test.bench "BenchmarkLatency/load=.*/impl=($peers)\$" \
	-test.cpu 16 -test.benchtime 1x -test.count 2 -size full -lat.point 2s
# The same at one arrival rate for all (200k tasks/s of 20 us: 25% of 16
# cores): each contestant's own half load above differs with its capacity.
# The work-stealing pool's injector path too.
step latency16-equal 90 bench "$bin/bench.test" -test.run '^$' \
	-test.bench "BenchmarkLatency/load=50%/impl=($peers|poolgen-stealing-generated)\$" \
	-test.cpu 16 -test.benchtime 1x -test.count 2 -size full -lat.point 2s \
	-lat.capacity 400000
# Bar: tail from scheduled arrival at 50% load beside a feeder that keeps
# its CPU busy, sleeps, or shares the CPUs with 16 handlers: P99 <= 100 us
# at 16 (GOMAXPROCS and workers), every contestant at poolgen's rates.
step tail16 150 bench "$bin/bench.test" -test.run '^$' \
	-test.bench 'BenchmarkTail/load=50%/' \
	-test.cpu 16 -test.benchtime 1x -size full -tail.rounds 8 -tail.point 500ms
# PinWorkers: the wake-up of a pinned worker (a thread hand-off) against
# an unpinned one, and a cache-heavy task pinned and not, at 16 CPUs
# (docs/PERFORMANCE.md, "CPU affinity"); 4096 I/O workers with resources.
step affinity 90 bench "$bin/bench.test" -test.run '^$' -test.benchmem \
	-test.bench 'Benchmark(Wake|CacheHeavy|IOWorkers)/' \
	-test.cpu 2,16 -test.benchtime 2000x -test.count 3
ls -l "$out"
