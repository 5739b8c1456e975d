package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/runtime/poolmon"
	"go.uber.org/goleak"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// livePools are the names of the pools of the -http mode.
var livePools = []string{
	"order-batch", "resize-breaker", "resize-cost", "resize-dynamic", "resize-fixed", "resize-generic",
	"resize-reject", "sum-stealing", "thumb-callerruns", "ticket-deadline", "ticket-priority",
}

// TestServe runs the -http mode on a port of its own, scrapes /metrics
// until every pool has run tasks, interrupts it, and checks that it shut
// the server and the pools down and left no goroutine behind.
func TestServe(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, 5000, &log) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s, %v\n%s", path, resp.Status, err, body)
		}
		return string(body)
	}

	// Every pool appears, with its pattern, and completes tasks.
	completed := regexp.MustCompile(`(?m)^poolgen_tasks_completed_total\{pattern="(\w+)",pool="([\w-]+)",task="[^"]+"\} (\d+)$`)
	var metrics string
	deadline := time.Now().Add(20 * time.Second)
	for {
		metrics = get("/metrics")
		busy := map[string]bool{}
		for _, m := range completed.FindAllStringSubmatch(metrics, -1) {
			if n, _ := strconv.Atoi(m[3]); n > 0 {
				busy[m[2]] = true
			}
		}
		if len(busy) == len(livePools) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s, the pools that completed tasks are %v; want %q\n%s", busy, livePools, metrics)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pool := range livePools {
		if !strings.Contains(metrics, `pool="`+pool+`"`) {
			t.Errorf("no series of pool %s", pool)
		}
	}
	for _, family := range []string{
		"poolgen_task_wait_seconds_bucket", "poolgen_scaling_size_workers", "poolgen_stealing_steals_total",
		"poolgen_priority_band_wait_seconds_bucket", "poolgen_batch_flushes_total",
		"poolgen_tasks_rejected_total", "go_goroutines",
	} {
		if !strings.Contains(metrics, "\n"+family+"{") && !strings.Contains(metrics, "\n"+family+" ") {
			t.Errorf("/metrics has no %s", family)
		}
	}
	if got := get("/"); !strings.Contains(got, "/metrics") || !strings.Contains(got, "/debug/pools/") {
		t.Errorf("/ does not point to /metrics and /debug/pools/: %q", got)
	}

	// The monitor's page, and its history of every pool.
	if page := get("/debug/pools/"); !strings.Contains(page, "<html") {
		t.Errorf("/debug/pools/ is not a page:\n%.500s", page)
	}
	var history struct {
		Pools []struct{ Name string } `json:"pools"`
	}
	if err := json.Unmarshal([]byte(get("/debug/pools/history.json")), &history); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range history.Pools {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, livePools) {
		t.Errorf("the monitor's history has pools %q, want %q", names, livePools)
	}

	// The limits handler changes the dynamic pool's limits.
	resp, err := client.Post("http://"+ln.Addr().String()+"/debug/pools/limits", "application/json",
		strings.NewReader(`{"pool": "resize-dynamic", "min": 2, "max": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /debug/pools/limits: %s", resp.Status)
	}
	limits := regexp.MustCompile(`(?m)^poolgen_scaling_(min|max)_workers\{pattern="dynamic",pool="resize-dynamic",[^}]*\} (\d+)$`)
	if m := limits.FindAllStringSubmatch(get("/metrics"), -1); len(m) != 2 || m[0][2] != "3" || m[1][2] != "2" {
		t.Errorf("after setting the limits to 2..3, /metrics says %q", m)
	}

	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("serve did not return after the interrupt")
	}
	if !strings.Contains(log.String(), "serving http://"+ln.Addr().String()+"/metrics") ||
		!strings.Contains(log.String(), "pooldemo: stopped after") {
		t.Errorf("log:\n%s", log.String())
	}
	if pools := poolmon.Pools(); len(pools) != 0 {
		t.Errorf("%d pools still run after the shutdown: %v", len(pools), pools)
	}
	if _, err := client.Get("http://" + ln.Addr().String() + "/metrics"); err == nil {
		t.Error("the server still answers after the shutdown")
	}
}

// TestServeListenerClosed checks that serve returns the listener's error,
// having shut its pools down, when it cannot serve.
func TestServeListenerClosed(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = serve(context.Background(), ln, 1000, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("serve on a closed listener: %v", err)
	}
	if pools := poolmon.Pools(); len(pools) != 0 {
		t.Errorf("%d pools still run: %v", len(pools), pools)
	}
}
