package browsertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
)

// work is a task that takes a little time, as real work would.
type work struct{ d time.Duration }

func (w work) Run(ctx context.Context) error {
	t := time.NewTimer(w.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// job is a task of the router: work of a class.
type job struct {
	work
	class string
}

func (j job) Class() string { return j.class }

// servePools starts two named pools and a named router under an uneven load, a monitor over
// them and a server for its page, all ended with the test. It returns the
// page's URL and the pools it must show.
func servePools(t *testing.T) (string, []shown) {
	thumbs, err := templates.NewFixedPool[work](poolrt.Name("thumbnails"), poolrt.Workers(4))
	must(t, err)
	resize, err := templates.NewDynamicPool[work](poolrt.Name("resize"), poolrt.WorkerLimits(1, 8))
	must(t, err)
	// A router named on its own, its classes' pools unnamed: it is listed
	// as one pool, with a chart line per class.
	class := func() *templates.DynamicPool[job] {
		p, err := templates.NewDynamicPool[job](poolrt.WorkerLimits(1, 6))
		must(t, err)
		return p
	}
	jobs, err := templates.NewRouter([]templates.RouterClass[job, string]{
		{Class: "io", Pool: class()}, {Class: "cpu", Pool: class()},
	}, poolrt.Lend(6), poolrt.RouterName("jobs"))
	must(t, err)
	m, err := poolmon.Start(poolmon.Config{
		Interval: 250 * time.Millisecond, // four updates a second: the test needs a few
		Rules:    []poolmon.Rule{poolmon.WaitP99Above(20 * time.Millisecond), poolmon.Saturation()},
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	must(t, err)
	mux := http.NewServeMux()
	mux.Handle("/debug/pools/", m)
	srv := httptest.NewServer(mux)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Quiet and busy spells of a second or two, so that the charts
			// have a shape; tasks of 0.2 to 2ms.
			n := 4
			if int(time.Since(begin).Seconds())%3 == 2 {
				n = 30
			}
			for j := range n {
				d := time.Duration(200+(i*7+j*13)%1800) * time.Microsecond
				thumbs.TrySubmit(work{d})
				resize.TrySubmit(work{d})
				// The mix shifts between the classes with the spells.
				kind := "io"
				if n > 4 && j%4 == 0 || n == 4 && j == 0 {
					kind = "cpu"
				}
				jobs.TrySubmit(job{work{d}, kind})
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		m.Stop() // ends the page's event stream, so that Close need not wait for it
		srv.Close()
		thumbs.ShutdownNow()
		resize.ShutdownNow()
		jobs.ShutdownNow()
	})

	var want []shown
	for _, p := range poolmon.Pools() {
		want = append(want, shown{p.Name, p.Pattern, p.Task})
	}
	if len(want) != 3 {
		t.Fatalf("named pools: %+v, want jobs, resize and thumbnails", want)
	}
	return srv.URL + "/debug/pools/", want
}
