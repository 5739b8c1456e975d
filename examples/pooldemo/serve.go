package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds the graceful shutdown of the server and of the
// pools once the demo is interrupted.
const shutdownTimeout = 10 * time.Second

// serve runs the live workload through named pools and serves, on ln,
// their metrics for Prometheus on /metrics, poolmon's live page on
// /debug/pools/ and its limits handler on /debug/pools/limits (JSON from
// loopback clients only), until ctx is done or the workload fails. It then
// stops serving, stops feeding the pools and shuts them down, waiting for
// their queued tasks, and returns. It writes the addresses it serves, the
// monitor's alerts and a line when it has stopped to log.
func serve(ctx context.Context, ln net.Listener, n int, log io.Writer) error {
	l, err := startLive(n, runtime.GOMAXPROCS(0))
	if err != nil {
		ln.Close()
		return err
	}
	exporter, err := poolprom.New()
	if err != nil {
		ln.Close()
		return errors.Join(err, l.shutdown(context.Background()))
	}
	// The same thresholds as deploy/prometheus/alerts.yml where the
	// monitor has the rule; the deadline pool's deliberate drops make
	// the failure rule fire.
	mon, err := poolmon.Start(poolmon.Config{
		Rules: []poolmon.Rule{
			poolmon.WaitP99Above(500 * time.Millisecond), poolmon.Saturation(),
			poolmon.FailureRateAbove(0.05), poolmon.Stuck(),
		},
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		ln.Close()
		return errors.Join(err, l.shutdown(context.Background()))
	}
	defer mon.Stop()
	reg := prometheus.NewRegistry()
	reg.MustRegister(exporter, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/pools/", mon)
	mux.Handle("/debug/pools/limits", poolmon.LimitsHandler(""))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "poolgen demo: /metrics (Prometheus), /debug/pools/ (the pools, live)")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests end with ctx: a long-lived one does not hold the
		// shutdown up.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	start := time.Now()
	fmt.Fprintf(log, "pooldemo: serving http://%s/metrics and http://%[1]s/debug/pools/ until interrupted\n", ln.Addr())

	feedCtx, stopFeeding := context.WithCancel(context.Background())
	defer stopFeeding()
	failed := make(chan error, len(l.feeders)+1)
	var feeders sync.WaitGroup
	for _, feed := range l.feeders {
		feeders.Go(func() {
			if err := feed(feedCtx); err != nil {
				failed <- err
			}
		})
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var cause error
	select {
	case <-ctx.Done():
	case cause = <-failed:
	case cause = <-served:
		served <- cause // for the shutdown below, which reads it again
	}

	// The monitor first: stopping it ends the live pages' event streams,
	// which would hold the server's shutdown up.
	mon.Stop()
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	errs := []error{cause}
	if err := srv.Shutdown(shutCtx); err != nil {
		errs = append(errs, fmt.Errorf("server shutdown: %w", err), srv.Close())
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, cause) {
		errs = append(errs, err)
	}
	stopFeeding()
	feeders.Wait()
	close(failed)
	for err := range failed {
		if !errors.Is(err, cause) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, l.shutdown(shutCtx))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(log, "pooldemo: stopped after %v; resized %s images\n",
		short(time.Since(start)), commas(l.totals.Count.Load()))
	return nil
}
