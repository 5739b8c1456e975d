package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

// TestMain checks that the demonstration stops everything it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestFleet runs the demonstration on an embedded server, with and
// without the crash: it reports nothing lost and nothing charged twice,
// the duplicates the stream dropped and both dead letters.
func TestFleet(t *testing.T) {
	for _, crash := range []bool{true, false} {
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := run(ctx, config{orders: 60, ackWait: 500 * time.Millisecond, crash: crash, replicas: 1}, &out)
		cancel()
		if err != nil {
			t.Fatalf("crash=%v: %v\n%s", crash, err, out.String())
		}
		report := out.String()
		for _, want := range []string{
			"embedded NATS server", "published 60 orders", "6 duplicate publishes dropped",
			"dead letter: decode after 1 deliveries", "dead letter: permanent after 1 deliveries",
			"ledger: 59 orders charged once each", "nothing lost, nothing charged twice",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("crash=%v: no %q in\n%s", crash, want, report)
			}
		}
		if strings.Contains(report, "crashed holding") != crash {
			t.Errorf("crash=%v:\n%s", crash, report)
		}
		if crash && strings.Contains(report, " 0 charges of redelivered messages") {
			t.Errorf("the crashed consumer's orders were not redelivered:\n%s", report)
		}
	}
}

// TestFleetURL runs the demonstration twice against one server given by
// URL, as production use would: the second run reuses the streams and
// the consumer and reports only its own dead letters.
func TestFleetURL(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	for range 2 {
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := run(ctx, config{url: srv.ClientURL(), orders: 20, ackWait: 500 * time.Millisecond, replicas: 1}, &out)
		cancel()
		if err != nil || strings.Contains(out.String(), "embedded") {
			t.Fatalf("%v\n%s", err, out.String())
		}
	}
}
