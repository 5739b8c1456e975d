package pooljs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	"github.com/poolgen/poolgen/templates"
)

// tagged is a pool that marks each task with its consumer's name and
// records the IDs it was handed.
type tagged struct {
	*templates.FixedPool[work]
	tag string

	mu   sync.Mutex
	held []string
}

func (p *tagged) SubmitWait(ctx context.Context, w work) error {
	w.by = p.tag
	p.mu.Lock()
	p.held = append(p.held, w.ID)
	p.mu.Unlock()
	return p.FixedPool.SubmitWait(ctx, w)
}

func (p *tagged) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.held...)
}

// checkExactlyOnce fails t unless every ID's effect happened exactly once
// and no other effect happened.
func checkExactlyOnce(t *testing.T, h *harness, ids []string) {
	t.Helper()
	eff := h.effects()
	lost, dup := 0, 0
	for _, id := range ids {
		switch n := eff[id]; {
		case n == 0:
			lost++
		case n > 1:
			dup++
		}
	}
	if lost != 0 || dup != 0 || len(eff) != len(ids) {
		t.Fatalf("%d tasks: %d lost, %d with duplicated effects, %d effects of unknown IDs", len(ids), lost, dup, len(eff)-len(ids)+lost)
	}
}

// TestFailoverKilledConsumer kills consumer A (its connection closed
// without a drain) while it holds 4 unacknowledged tasks, 2 of them
// running. Consumer B, on its own connection to the same durable
// consumer, gets them again after the ack wait (with a delivery count of
// 2) and runs them; A's pool runs them too, later, since a killed
// connection does not stop a process's tasks. Every task completes, and
// with the idempotent task each effect happens exactly once.
func TestFailoverKilledConsumer(t *testing.T) {
	const n = 300
	const ackWait = time.Second
	s := startServer(t)
	ncA, jsA := connect(t, s.ClientURL())
	consA := setup(t, jsA, ackWait, 1)
	gateA := newGate()
	defer gateA.open()
	var mu sync.Mutex
	var firstRedelivery time.Time // B's first run of a task A held
	h := newHarness(t, func(w work) error {
		switch {
		case w.by == "A":
			gateA.wait()
		case w.delivery > 1:
			mu.Lock()
			if firstRedelivery.IsZero() {
				firstRedelivery = time.Now()
			}
			mu.Unlock()
		}
		return nil
	})
	ids := publish(t, jsA, h, "k-", n)

	poolA := &tagged{FixedPool: newPool(t, 2, 2), tag: "A"}
	srcA := newSource(t, jsA, consA, poolA, func(c *pooljs.Config[work]) { c.DrainTimeout = 100 * time.Millisecond })
	startA := time.Now()
	runA := run(t, srcA)
	eventually(t, 5*time.Second, "A did not fill", func() bool { return srcA.Stats().InFlight == 4 && h.runs.Load() == 2 })

	_, jsB := connect(t, s.ClientURL())
	poolB := &tagged{FixedPool: newPool(t, 4, 16), tag: "B"}
	srcB := newSource(t, jsB, consumer(t, jsB), poolB, nil)
	runB := run(t, srcB)

	ncA.Close() // no drain: A's 4 messages stay unacknowledged
	heldA := poolA.ids()
	if len(heldA) != 4 {
		t.Fatalf("A held %v, want 4 tasks", heldA)
	}
	eventually(t, 20*time.Second, "B did not complete every task", func() bool { return srcB.Stats().Acked == n })
	mu.Lock()
	if d := firstRedelivery.Sub(startA); d < ackWait {
		t.Fatalf("A's tasks came back %v after A started, before the ack wait", d)
	}
	mu.Unlock()
	for _, id := range heldA {
		if got := h.seen(id); len(got) == 0 || got[len(got)-1] < 2 {
			t.Fatalf("%s, held by A: deliveries seen %v, want a redelivery to B", id, got)
		}
	}
	gateA.open() // A's tasks now run too: their effects are already done
	if err := runA.stop(t); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("A's Run: %v, want a closed connection", err)
	}
	eventually(t, 5*time.Second, "A's tasks did not run", func() bool { return h.runs.Load() >= n+4 })
	if err := runB.stop(t); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, h, ids)
	if m := streamMsgs(t, jsB, stream); m != 0 {
		t.Fatalf("%d messages left in the stream", m)
	}
	t.Logf("A: %+v; B: %+v; runs %d for %d tasks", srcA.Stats(), srcB.Stats(), h.runs.Load(), n)
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	return ports
}

// startCluster starts a 3-node JetStream cluster on loopback, each node
// with its own storage, and waits for a meta leader. The nodes' route
// ports must be known before any starts (each lists the others), so they
// are picked free beforehand; another process may bind one in between
// (an outgoing connection's ephemeral port, say), and then the cluster
// starts again on other ports.
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	for try := 1; ; try++ {
		servers, logs, ok := tryCluster(t)
		if ok {
			return servers
		}
		for _, s := range servers {
			s.Shutdown()
			s.WaitForShutdown()
		}
		if try == 3 || !logs.bindFailed() {
			t.Fatalf("the cluster did not start (try %d); the nodes' errors:\n%s", try, logs)
		}
		t.Logf("a route port was taken, starting again: %s", logs)
	}
}

// tryCluster starts the nodes and reports whether every one became ready
// for connections, with what they logged as errors.
func tryCluster(t *testing.T) ([]*server.Server, *errLog, bool) {
	ports := freePorts(t, 3)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	logs := new(errLog)
	var servers []*server.Server
	for i := range ports {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "fleet", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
			NoSigs:  true,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.SetLoggerV2(logs.node(i+1), false, false, false)
		s.Start()
		servers = append(servers, s)
		t.Cleanup(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			return servers, logs, false
		}
	}
	eventually(t, 20*time.Second, "no JetStream meta leader", func() bool {
		for _, s := range servers {
			if s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return servers, logs, true
}

// errLog keeps the errors a cluster's nodes log (the last 50), so that a
// node that fails to start says why.
type errLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *errLog) add(node int, level, format string, v []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("n%d %s: %s", node, level, fmt.Sprintf(format, v...)))
	if len(l.lines) > 50 {
		l.lines = l.lines[1:]
	}
}

// bindFailed reports whether a node could not listen on its port.
func (l *errLog) bindFailed() bool {
	return strings.Contains(l.String(), "address already in use")
}

func (l *errLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// node returns node n's logger: fatal errors and errors are kept.
func (l *errLog) node(n int) server.Logger { return nodeLog{l, n} }

type nodeLog struct {
	l *errLog
	n int
}

func (g nodeLog) Noticef(string, ...any)         {}
func (g nodeLog) Warnf(string, ...any)           {}
func (g nodeLog) Debugf(string, ...any)          {}
func (g nodeLog) Tracef(string, ...any)          {}
func (g nodeLog) Errorf(format string, v ...any) { g.l.add(g.n, "error", format, v) }
func (g nodeLog) Fatalf(format string, v ...any) { g.l.add(g.n, "fatal", format, v) }

// TestFailoverClusterNodeLoss runs a 3-node cluster with an R3 stream,
// two consumers and a producer, and stops the stream's leader mid-run:
// the producer's publishes (retried with the same message ID until
// acknowledged) and the consumers carry on with the other two nodes, and
// every task's effect happens exactly once.
func TestFailoverClusterNodeLoss(t *testing.T) {
	const n = 400
	servers := startCluster(t)
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.Timeout(2 * time.Second), nats.DontRandomize()}
	// urlsFrom lists every node's URL, the one at index first first: a
	// client connects to it, and reconnects to the others.
	urlsFrom := func(first int) string {
		var urls []string
		for i := range servers {
			urls = append(urls, servers[(first+i)%len(servers)].ClientURL())
		}
		return strings.Join(urls, ",")
	}
	_, js := connect(t, urlsFrom(0), opts...)
	eventually(t, 20*time.Second, "stream not created", func() bool { return trySetup(js, 2*time.Second) != nil })
	leader := streamLeader(t, js, servers)
	h := newHarness(t, func(w work) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})

	// The producer and one consumer are connected to the stream's leader,
	// the other consumer to another node.
	ncP, jsP := connect(t, urlsFrom(leader), opts...)
	var conns []*nats.Conn
	var srcs []*pooljs.Source[work]
	for i := range 2 {
		nc, jsC := connect(t, urlsFrom(leader+i), opts...)
		conns = append(conns, nc)
		src := newSource(t, jsC, consumer(t, jsC), newPool(t, 4, 8), nil)
		srcs = append(srcs, src)
		run(t, src)
	}
	acked := func() uint64 { return srcs[0].Stats().Acked + srcs[1].Stats().Acked }

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pub := pooljs.NewPublisher[work](jsP, subject, nil)
	var ids []string
	held := 0
	for i := range n {
		id := fmt.Sprintf("c-%d", i)
		ids = append(ids, id)
		if i == n/2 {
			// Stop the leader while the consumers hold messages.
			eventually(t, 20*time.Second, "first half not processed", func() bool {
				held = srcs[0].Stats().InFlight + srcs[1].Stats().InFlight
				return acked() >= uint64(n/4) && held > 0
			})
			servers[leader].Shutdown()
			servers[leader].WaitForShutdown()
		}
		for {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := pub.Publish(pctx, id, h.job(id))
			pcancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %s: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eventually(t, 30*time.Second, "tasks not all done after the node loss", func() bool { return len(h.effects()) == n })
	checkExactlyOnce(t, h, ids)
	if ncP.Reconnects == 0 || conns[0].Reconnects == 0 {
		t.Fatalf("the producer (%d) and the first consumer (%d) did not reconnect", ncP.Reconnects, conns[0].Reconnects)
	}
	t.Logf("stopped %s holding %d messages; sources %+v, %+v; runs %d for %d tasks",
		servers[leader].Name(), held, srcs[0].Stats(), srcs[1].Stats(), h.runs.Load(), n)
}

// trySetup is setup for a cluster that may not take requests yet: nil
// when it failed.
func trySetup(js jetstream.JetStream, timeout time.Duration) jetstream.Consumer {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sc := pooljs.StreamConfig(stream, subject)
	sc.Replicas = 3
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil
	}
	dc := pooljs.DeadLetterStreamConfig(dlqStream, deadLetter)
	dc.Replicas = 3
	if _, err := js.CreateOrUpdateStream(ctx, dc); err != nil {
		return nil
	}
	cc := pooljs.ConsumerConfig(durable, 2*time.Second)
	cc.Replicas = 3
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return nil
	}
	return cons
}

// streamLeader returns the index in servers of the task stream's leader.
func streamLeader(t *testing.T, js jetstream.JetStream, servers []*server.Server) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream cluster %+v, want a leader and 2 replicas", info.Cluster)
	}
	for i, s := range servers {
		if s.Name() == info.Cluster.Leader {
			return i
		}
	}
	t.Fatalf("no server named %q", info.Cluster.Leader)
	return 0
}
