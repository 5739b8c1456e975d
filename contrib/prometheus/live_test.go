package poolprom

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// work is a task that takes a little time, and fails when asked to.
type work struct {
	d    time.Duration
	fail bool
}

var errWork = errors.New("work failed on purpose")

func (w work) Run(ctx context.Context) error {
	time.Sleep(w.d)
	if w.fail {
		return errWork
	}
	return nil
}

// Priority makes every fifth task urgent.
func (w work) Priority() int64 {
	if w.fail {
		return 9
	}
	return 0
}

// TestLivePools scrapes real named pools with the default source: the
// series agree with each pool's Stats once it is at rest, and a pool
// that shut down is no longer exported.
func TestLivePools(t *testing.T) {
	ctx := context.Background()
	fixed, err := templates.NewFixedPool[work](poolrt.Name("live-fixed"), poolrt.Workers(2), poolrt.LatencySampling(1))
	if err != nil {
		t.Fatal(err)
	}
	prio, err := templates.NewPriorityPool[work](poolrt.Name("live-priority"), poolrt.Workers(2),
		poolrt.Bands(5), poolrt.LatencySampling(1))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		w := work{d: time.Duration(i%4) * 10 * time.Microsecond, fail: i%5 == 0}
		if err := errors.Join(fixed.Submit(ctx, w), prio.Submit(ctx, w)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fixed.Stats().Completed < n || prio.Stats().Completed < n {
		if time.Now().After(deadline) {
			t.Fatal("the tasks did not finish in 10s")
		}
		time.Sleep(time.Millisecond)
	}

	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	fams := gather(t, c)
	for _, p := range []struct {
		name  string
		stats poolrt.Stats
	}{{"live-fixed", fixed.Stats()}, {"live-priority", prio.Stats()}} {
		labels := map[string]string{"pool": p.name}
		for family, want := range map[string]uint64{
			"poolgen_tasks_submitted_total": p.stats.Submitted,
			"poolgen_tasks_completed_total": p.stats.Completed,
			"poolgen_tasks_failed_total":    p.stats.Failed,
		} {
			if got := series(t, fams[family], labels).GetCounter().GetValue(); got != float64(want) {
				t.Errorf("%s %s = %g, want %d", family, p.name, got, want)
			}
		}
		if p.stats.Failed != n/5 {
			t.Errorf("%s: Stats says %d failed, want %d", p.name, p.stats.Failed, n/5)
		}
		h := series(t, fams["poolgen_task_run_seconds"], labels).GetHistogram()
		if h.GetSampleCount() != n || h.GetSampleCount() != p.stats.Run.Count {
			t.Errorf("%s: run histogram counts %d, Stats %d, want %d (LatencySampling(1))",
				p.name, h.GetSampleCount(), p.stats.Run.Count, n)
		}
		checkHistogram(t, p.name+" run", h, latencyBounds, p.stats.Run.Buckets[:], classEnd)
	}
	for _, band := range []string{"-inf..4", "5..+inf"} {
		m := series(t, fams["poolgen_priority_band_tasks_completed_total"], map[string]string{"pool": "live-priority", "band": band})
		if want := map[string]float64{"-inf..4": n * 4 / 5, "5..+inf": n / 5}[band]; m.GetCounter().GetValue() != want {
			t.Errorf("band %s completed %g, want %g", band, m.GetCounter().GetValue(), want)
		}
	}

	if err := errors.Join(fixed.Shutdown(ctx), prio.Shutdown(ctx)); err != nil {
		t.Fatal(err)
	}
	if len(poolmon.Pools()) != 0 {
		t.Fatalf("pools still listed after their shutdown: %v", poolmon.Pools())
	}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("the scrape after the shutdown has %d series", n)
	}
}

// BenchmarkScrapeLive measures one scrape of 100 idle named fixed pools
// through the default source: reading their Stats, then gathering.
func BenchmarkScrapeLive(b *testing.B) {
	ctx := context.Background()
	for i := range 100 {
		p, err := templates.NewFixedPool[work](poolrt.Name(fmt.Sprintf("bench-%03d", i)), poolrt.Workers(2))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Shutdown(ctx)
		for range 100 {
			if err := p.Submit(ctx, work{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	c, err := New()
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
