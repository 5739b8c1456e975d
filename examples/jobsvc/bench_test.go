package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchService runs the service in this process against an embedded NATS
// server, with a new database, until the benchmark ends, and returns it
// with its base URL.
func benchService(b *testing.B) (*service, string) {
	b.Helper()
	dir := b.TempDir()
	ns := startNATS(b, filepath.Join(dir, "jetstream"))
	cfg := defaults()
	cfg.natsURL = ns.ClientURL()
	cfg.dbPath = filepath.Join(dir, "jobsvc.db")
	cfg.queue = 256
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(errors.Join(err, svc.stop(cfg.shutdownTimeout)))
	}
	served := make(chan error, 1)
	go func() { served <- svc.serve(ctx, ln, cfg.shutdownTimeout) }()
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
	})
	return svc, "http://" + ln.Addr().String()
}

// benchPost posts body to url and fails unless the answer is want.
func benchPost(b *testing.B, hc *http.Client, url, body string, want int) {
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("POST %s %s: %s %s", url, body, resp.Status, msg)
	}
}

// BenchmarkRequest measures a request through the whole service, from
// eight concurrent clients per GOMAXPROCS: HTTP, the request pool, and
// its event committed to SQLite by the batch pool before the answer.
func BenchmarkRequest(b *testing.B) {
	_, base := benchService(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer hc.CloseIdleConnections()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, hc, base+"/v1/requests",
				fmt.Sprintf(`{"id":"r-%d","class":"interactive","input":"x"}`, n.Add(1)), http.StatusOK)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkJob measures a job through the whole service, from eight
// concurrent clients per GOMAXPROCS: published over HTTP (answered once
// the stream has stored it), fetched by the Source, run on the job pool,
// its effect and its event committed to SQLite, and acknowledged. The
// time ends when the last job's effect is committed.
func BenchmarkJob(b *testing.B) {
	svc, base := benchService(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer hc.CloseIdleConnections()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, hc, base+"/v1/jobs",
				fmt.Sprintf(`{"id":"j-%d","account":"a","amount":1}`, n.Add(1)), http.StatusAccepted)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for svc.store.jobsApplied.Load() < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d jobs applied after a minute", svc.store.jobsApplied.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
