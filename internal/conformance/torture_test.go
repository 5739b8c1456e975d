package conformance_test

import (
	"flag"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
)

// The torture's seed and size: a flag, else an environment variable, else
// a fresh seed and tortureSmall operations per pattern. CI's non-race
// step sets POOLGEN_TORTURE_OPS=1000000 (see .ci/run): the full size takes
// minutes, ten times more under the race detector.
var (
	tortureSeed = flag.Uint64("torture.seed", 0, "seed of the torture (0: POOLGEN_TORTURE_SEED, else the clock)")
	tortureSize = flag.Int("torture.ops", 0, "operations per pattern of the torture (0: POOLGEN_TORTURE_OPS, else 20000)")
)

// tortureSmall is the torture's size per pattern in an ordinary run.
const tortureSmall = 20_000

func tortureConfig(t *testing.T) (seed uint64, ops int) {
	seed, ops = *tortureSeed, *tortureSize
	if seed == 0 {
		if v := os.Getenv("POOLGEN_TORTURE_SEED"); v != "" {
			var err error
			if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
				t.Fatalf("POOLGEN_TORTURE_SEED=%q: %v", v, err)
			}
		} else {
			seed = uint64(time.Now().UnixNano())
		}
	}
	if ops == 0 {
		if v := os.Getenv("POOLGEN_TORTURE_OPS"); v != "" {
			var err error
			if ops, err = strconv.Atoi(v); err != nil || ops <= 0 {
				t.Fatalf("POOLGEN_TORTURE_OPS=%q: want a positive number", v)
			}
		} else {
			ops = tortureSmall
		}
	}
	return seed, ops
}

func probeTask(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
func probeID(p generated.Probe) int                        { return p.ID }
func probePtrTask(ctl *probe.Control, id int) *generated.ProbePtr {
	return &generated.ProbePtr{ID: id, Ctl: ctl}
}
func probePtrID(p *generated.ProbePtr) int { return p.ID }

// torturePatterns lists the rows of each pattern the torture drives: the
// generic and generated pools over the value and pointer task types.
func torturePatterns() []struct {
	name string
	rows []conformance.Torturer
} {
	var fixed []conformance.Torturer
	for _, impl := range probeImpls {
		impl.Task, impl.ID = probeTask, probeID
		fixed = append(fixed, conformance.Torturable(impl))
	}
	for _, impl := range probePtrImpls {
		impl.Task, impl.ID = probePtrTask, probePtrID
		fixed = append(fixed, conformance.Torturable(impl))
	}
	var dynamic, stealing []conformance.Torturer
	for _, d := range dynamicProbe() {
		dynamic = append(dynamic, conformance.Torturable(d.Impl()))
	}
	for _, d := range dynamicProbePtr() {
		dynamic = append(dynamic, conformance.Torturable(d.Impl()))
	}
	for _, impl := range stealingProbe() {
		stealing = append(stealing, conformance.Torturable(impl))
	}
	for _, impl := range stealingProbePtr() {
		stealing = append(stealing, conformance.Torturable(impl))
	}
	// The priority pools, by the rank they order by (aging or not).
	rank := map[string][]conformance.Torturer{}
	for _, impl := range rankContractRows(probeFlavors()) {
		impl.Pattern, impl.Task, impl.ID = conformance.Priority, probeTask, probeID
		for _, k := range []string{"Priority", "Deadline", "Cost"} {
			if strings.Contains(impl.Name, k+"Pool") {
				rank[k] = append(rank[k], conformance.Torturable(impl))
			}
		}
	}
	for _, impl := range rankContractRows(probePtrFlavors()) {
		impl.Pattern, impl.Task, impl.ID = conformance.Priority, probePtrTask, probePtrID
		for _, k := range []string{"Priority", "Deadline", "Cost"} {
			if strings.Contains(impl.Name, k+"Pool") {
				rank[k] = append(rank[k], conformance.Torturable(impl))
			}
		}
	}
	batch := []conformance.Torturer{
		conformance.Torturable(batchImpl.Impl()), conformance.Torturable(keyedFuncImpl.Impl()),
		conformance.Torturable(probeBatchImpl.Impl()), conformance.Torturable(probePtrBatchImpl.Impl()),
	}
	var fair []conformance.Torturer
	for _, impl := range fairProbeImpls() {
		fair = append(fair, conformance.Torturable(impl))
	}
	for _, impl := range fairProbePtrImpls() {
		fair = append(fair, conformance.Torturable(impl))
	}
	router := []conformance.Torturer{
		conformance.Torturable(generatedRouterImpl.Impl()), conformance.Torturable(generatedRouterPtrImpl.Impl()),
	}
	for _, r := range routerImpls {
		router = append(router, conformance.Torturable(r.Impl()))
	}
	for _, r := range routerPtrImpls {
		router = append(router, conformance.Torturable(r.Impl()))
	}
	return []struct {
		name string
		rows []conformance.Torturer
	}{
		{"fixed", fixed}, {"dynamic", dynamic}, {"stealing", stealing},
		{"priority", rank["Priority"]}, {"deadline", rank["Deadline"]}, {"cost", rank["Cost"]},
		{"batch", batch}, {"fair", fair}, {"router", router},
	}
}

// TestTorture drives every pattern through random operations
// (see conformance.Torture). Reproduce a failure with the seed it prints:
// go test ./internal/conformance -run 'TestTorture/pattern/<pattern>$' -torture.seed=<seed>.
func TestTorture(t *testing.T) {
	seed, ops := tortureConfig(t)
	// The pools log every breaker change, hook panic and shedding
	// episode: thousands of records, of no use here.
	logger := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	defer slog.SetDefault(logger)
	ignore := goleak.IgnoreCurrent()
	// The patterns run in parallel: their pools spend much of their time
	// waiting (backoffs, timeouts, cool-downs), which the others fill.
	t.Run("pattern", func(t *testing.T) {
		for i, pat := range torturePatterns() {
			s := seed + uint64(i)
			t.Run(pat.name, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				tally := conformance.Torture(t, s, ops, pat.rows...)
				t.Logf("seed %d, %v: %v", s, time.Since(start).Round(time.Millisecond), &tally)
				if t.Failed() {
					t.Logf("reproduce: go test ./internal/conformance -run 'TestTorture/pattern/%s$' -torture.seed=%d -torture.ops=%d", pat.name, seed, ops)
				}
			})
		}
	})
	goleak.VerifyNone(t, ignore)
}
