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

// servePools starts two named pools under an uneven load, a monitor over
// them and a server for its page, all ended with the test. It returns the
// page's URL and the pools it must show.
func servePools(t *testing.T) (string, []shown) {
	thumbs, err := templates.NewFixedPool[work](poolrt.Name("thumbnails"), poolrt.Workers(4))
	must(t, err)
	resize, err := templates.NewDynamicPool[work](poolrt.Name("resize"), poolrt.WorkerLimits(1, 8))
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
	})

	var want []shown
	for _, p := range poolmon.Pools() {
		want = append(want, shown{p.Name, p.Pattern, p.Task})
	}
	if len(want) != 2 {
		t.Fatalf("named pools: %+v, want resize and thumbnails", want)
	}
	return srv.URL + "/debug/pools/", want
}
