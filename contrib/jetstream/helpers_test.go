package pooljs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	"github.com/poolgen/poolgen/contrib/jetstream/internal/testtask"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// startServer starts an embedded JetStream server on a loopback port with
// its storage in a temporary directory, shut down when t ends.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1,
		JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// connect opens a connection to url, closed when t ends.
func connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// The names the tests use.
const (
	stream     = "TASKS"
	subject    = "tasks.work"
	dlqStream  = "DEAD"
	deadLetter = "tasks.dead"
	durable    = "workers"
)

// setup creates the task stream, the dead-letter stream and a durable
// consumer with the given ack wait, and returns the consumer.
func setup(t testing.TB, js jetstream.JetStream, ackWait time.Duration, replicas int) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sc := pooljs.StreamConfig(stream, subject)
	sc.Replicas = replicas
	if _, err := js.CreateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	dc := pooljs.DeadLetterStreamConfig(dlqStream, deadLetter)
	dc.Replicas = replicas
	if _, err := js.CreateStream(ctx, dc); err != nil {
		t.Fatal(err)
	}
	cc := pooljs.ConsumerConfig(durable, ackWait)
	cc.Replicas = replicas
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// consumer looks up the shared durable consumer on js.
func consumer(t testing.TB, js jetstream.JetStream) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// harness is what the tasks of one test do and record. Tasks find their
// harness by name (their Tenant), so tests may run side by side.
type harness struct {
	name string
	// fn, if set, is the task's behavior: its error is Run's.
	fn func(w work) error

	mu       sync.Mutex
	ledger   []string            // effects, in order: each ID once if tasks are idempotent
	applied  map[string]bool     // IDs in ledger
	attempts map[string][]uint64 // delivery counts seen by Run, per ID
	runs     atomic.Int64
}

var harnesses sync.Map // name → *harness

var harnessSeq atomic.Int64

func newHarness(t testing.TB, fn func(w work) error) *harness {
	h := &harness{
		name:     fmt.Sprintf("%s-%d", t.Name(), harnessSeq.Add(1)),
		fn:       fn,
		applied:  make(map[string]bool),
		attempts: make(map[string][]uint64),
	}
	harnesses.Store(h.name, h)
	t.Cleanup(func() { harnesses.Delete(h.name) })
	return h
}

// job returns the task with ID id for h.
func (h *harness) job(id string) work {
	return work{Job: testtask.Job{ID: id, Tenant: h.name, Priority: 1, Amount: 12.5, Tags: []string{"a", "b"}}}
}

// apply performs the task's effect once per ID: the idempotent task.
func (h *harness) apply(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.applied[id] {
		return
	}
	h.applied[id] = true
	h.ledger = append(h.ledger, id)
}

// effects returns how many times each ID's effect happened.
func (h *harness) effects() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := make(map[string]int)
	for _, id := range h.ledger {
		n[id]++
	}
	return n
}

func (h *harness) seen(id string) []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uint64(nil), h.attempts[id]...)
}

// work is the tests' task: a testtask.Job (with msgp's methods, promoted)
// that records its delivery count.
type work struct {
	testtask.Job
	delivery uint64
	by       string // the consumer that ran it, set by a tagged pool
}

// SetDelivery records the delivery count.
func (w *work) SetDelivery(n uint64) { w.delivery = n }

// Run records the attempt, runs the harness's behavior and applies the
// effect when it succeeded.
func (w work) Run(ctx context.Context) error {
	v, ok := harnesses.Load(w.Tenant)
	if !ok {
		return errors.New("no harness " + w.Tenant)
	}
	h := v.(*harness)
	h.runs.Add(1)
	h.mu.Lock()
	h.attempts[w.ID] = append(h.attempts[w.ID], w.delivery)
	h.mu.Unlock()
	if h.fn != nil {
		if err := h.fn(w); err != nil {
			return err
		}
	}
	h.apply(w.ID)
	return nil
}

// newPool starts a fixed pool of work, shut down when t ends.
func newPool(t testing.TB, workers, queue int, opts ...poolrt.Option) *templates.FixedPool[work] {
	t.Helper()
	p, err := templates.NewFixedPool[work](append([]poolrt.Option{poolrt.Workers(workers), poolrt.QueueSize(queue)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// publish publishes the tasks with IDs prefix0..prefix(n-1), waiting for
// every acknowledgement.
func publish(t testing.TB, js jetstream.JetStream, h *harness, prefix string, n int) []string {
	t.Helper()
	pub := pooljs.NewPublisher[work](js, subject, nil)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s%d", prefix, i)
		if _, err := pub.PublishAsync(ids[i], h.job(ids[i])); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Second):
		t.Fatal("publish not acknowledged")
	}
	return ids
}

// running is a Source running in a goroutine.
type running struct {
	src    *pooljs.Source[work]
	cancel context.CancelFunc
	done   chan error
}

// run starts src.Run; stop (also at t's end) cancels it and returns its
// error.
func run(t testing.TB, src *pooljs.Source[work]) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{src: src, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Source.Run did not return")
		return nil
	}
}

// eventually waits up to d for cond, failing t with what otherwise.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// streamMsgs returns how many messages the stream holds.
func streamMsgs(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// deadLetters fetches the n dead letters expected on the dead-letter
// stream.
func deadLetters(t testing.TB, js jetstream.JetStream, n int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, dlqStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for len(out) < n {
		b, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range b.Messages() {
			out = append(out, m)
			got++
		}
		if got == 0 {
			t.Fatalf("%d dead letters, want %d", len(out), n)
		}
	}
	return out
}

// templatesDynamic starts a dynamic pool of work of 1 to 4 workers.
func templatesDynamic() (*templates.DynamicPool[work], error) {
	return templates.NewDynamicPool[work](poolrt.WorkerLimits(1, 4), poolrt.QueueSize(4))
}

// gate is a barrier that tasks wait on until it opens. Tests defer open,
// so that a failing test's blocked tasks end before its pools shut down.
type gate struct {
	c    chan struct{}
	once sync.Once
}

func newGate() *gate { return &gate{c: make(chan struct{})} }

func (g *gate) wait() { <-g.c }
func (g *gate) open() { g.once.Do(func() { close(g.c) }) }
