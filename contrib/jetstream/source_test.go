package pooljs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// TestMain checks that the tests leave no goroutine behind: every
// embedded server is shut down, every connection closed, every Source
// stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newSource returns a Source on cons feeding p, with short delays for
// tests; mod may change the configuration.
func newSource(t testing.TB, js jetstream.JetStream, cons jetstream.Consumer, p pooljs.Pool[work], mod func(*pooljs.Config[work])) *pooljs.Source[work] {
	t.Helper()
	cfg := pooljs.Config[work]{
		DeadLetter:    deadLetter,
		MaxDeliveries: 3,
		Backoff:       pooljs.Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		FetchWait:     200 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src, err := pooljs.NewSource(ctx, js, cons, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSourceAcks: every task runs once, with delivery count 1, and its
// message is acknowledged, which removes it from the work queue.
func TestSourceAcks(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	h := newHarness(t, nil)
	ids := publish(t, js, h, "ok-", 200)
	src := newSource(t, js, cons, newPool(t, 4, 16), nil)
	r := run(t, src)
	eventually(t, 10*time.Second, "tasks not all acked", func() bool { return src.Stats().Acked == 200 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, id := range ids {
		if got := h.seen(id); !slices.Equal(got, []uint64{1}) {
			t.Fatalf("%s: deliveries seen %v, want [1]", id, got)
		}
	}
	if n := streamMsgs(t, js, stream); n != 0 {
		t.Fatalf("stream holds %d messages after all were acked", n)
	}
	st := src.Stats()
	if st.Fetched != 200 || st.Retried != 0 || st.DeadLettered != 0 || st.Errors != 0 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSourceRetries: a task that fails twice with a retryable error runs a
// third time, seeing delivery counts 1, 2, 3, and succeeds.
func TestSourceRetries(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	h := newHarness(t, func(w work) error {
		if w.delivery < 3 {
			return errors.New("flaky")
		}
		return nil
	})
	publish(t, js, h, "r-", 5)
	src := newSource(t, js, cons, newPool(t, 2, 8), nil)
	run(t, src)
	eventually(t, 10*time.Second, "retried tasks not acked", func() bool { return src.Stats().Acked == 5 })
	if got := h.seen("r-0"); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("deliveries seen %v, want [1 2 3]", got)
	}
	if st := src.Stats(); st.Retried != 10 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSourceDeadLetters: a permanent error (ErrPermanent or
// poolrt.Permanent), a retryable error on the last
// delivery, a panic on every delivery and an undecodable body each end on
// the dead-letter stream, with the reason, error, attempts, subject, stream
// and sequence in headers and the original body, and are removed from the
// work queue.
func TestSourceDeadLetters(t *testing.T) {
	s := startServer(t)
	nc, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	h := newHarness(t, func(w work) error {
		switch w.ID {
		case "perm":
			return fmt.Errorf("no such customer\r\nX: y: %w", pooljs.ErrPermanent)
		case "rtperm":
			return fmt.Errorf("order 7: %w", poolrt.Permanent(errors.New("bad address")))
		case "flaky":
			return errors.New("still failing")
		case "panic":
			panic("boom")
		}
		return nil
	})
	publish(t, js, h, "ok-", 3)
	pub := pooljs.NewPublisher[work](js, subject, nil)
	for _, id := range []string{"perm", "rtperm", "flaky", "panic"} {
		if _, err := pub.Publish(context.Background(), id, h.job(id)); err != nil {
			t.Fatal(err)
		}
	}
	bad := nats.NewMsg(subject)
	bad.Data = []byte(`{"id": 7,`)
	bad.Header.Set("Trace", "abc")
	if _, err := js.PublishMsg(context.Background(), bad, jetstream.WithMsgID("bad")); err != nil {
		t.Fatal(err)
	}
	var errs atomic.Int64
	quiet := poolrt.OnPanic(func(*poolrt.PanicError) {})
	src := newSource(t, js, cons, newPool(t, 2, 8, quiet), func(c *pooljs.Config[work]) {
		c.OnError = func(error) { errs.Add(1) }
	})
	run(t, src)
	eventually(t, 10*time.Second, "not all settled", func() bool {
		st := src.Stats()
		return st.Acked == 3 && st.DeadLettered == 5
	})
	letters := deadLetters(t, js, 5)
	byID := map[string]jetstream.Msg{}
	for _, m := range letters {
		if m.Headers().Get(pooljs.HeaderReason) == pooljs.ReasonDecode {
			byID["bad"] = m
			continue
		}
		var w work
		if err := pooljs.JSON[work]().Decode(m.Data(), &w); err != nil {
			t.Fatal(err)
		}
		byID[w.ID] = m
	}
	check := func(id, reason, attempts, errPart string) {
		t.Helper()
		m, ok := byID[id]
		if !ok {
			t.Fatalf("no dead letter for %s", id)
		}
		hd := m.Headers()
		if hd.Get(pooljs.HeaderReason) != reason || hd.Get(pooljs.HeaderAttempts) != attempts ||
			!strings.Contains(hd.Get(pooljs.HeaderError), errPart) ||
			hd.Get(pooljs.HeaderSubject) != subject || hd.Get(pooljs.HeaderStream) != stream ||
			hd.Get(pooljs.HeaderSequence) == "" {
			t.Fatalf("%s: headers %v", id, hd)
		}
	}
	check("perm", pooljs.ReasonPermanent, "1", "no such customer  X: y")
	check("rtperm", pooljs.ReasonPermanent, "1", "order 7: bad address")
	check("flaky", pooljs.ReasonAttempts, "3", "still failing")
	check("panic", pooljs.ReasonAttempts, "3", "boom")
	check("bad", pooljs.ReasonDecode, "1", "decode")
	if got := string(byID["bad"].Data()); got != `{"id": 7,` {
		t.Fatalf("dead letter body %q, want the raw body", got)
	}
	if byID["bad"].Headers().Get("Trace") != "abc" {
		t.Fatal("the original headers are not kept")
	}
	if got := h.seen("flaky"); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("flaky ran %v, want [1 2 3]", got)
	}
	if st := src.Stats(); st.DecodeErrors != 1 || st.Errors != 0 || errs.Load() != 0 {
		t.Fatalf("stats %+v, OnError %d", st, errs.Load())
	}
	eventually(t, 5*time.Second, "dead letters still in the work queue", func() bool { return streamMsgs(t, js, stream) == 0 })
	_ = nc
}

// TestSourceDeliveryLimit: a message whose earlier deliveries all died
// unacknowledged (its consumer crashed) arrives with a delivery count
// past the limit: the source sends it to the dead letters without running
// it, which the server's own MaxDeliver would not have done.
func TestSourceDeliveryLimit(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 100*time.Millisecond, 1)
	h := newHarness(t, nil)
	publish(t, js, h, "lost-", 1)
	// Two deliveries that nobody settles.
	for range 2 {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range b.Messages() {
			n++
		}
		if n != 1 {
			t.Fatalf("fetched %d messages, want 1", n)
		}
	}
	src := newSource(t, js, cons, newPool(t, 1, 1), func(c *pooljs.Config[work]) { c.MaxDeliveries = 2 })
	run(t, src)
	eventually(t, 10*time.Second, "not dead-lettered", func() bool { return src.Stats().DeadLettered == 1 })
	m := deadLetters(t, js, 1)[0]
	if m.Headers().Get(pooljs.HeaderAttempts) != "3" || !strings.Contains(m.Headers().Get(pooljs.HeaderError), pooljs.ErrDeliveryLimit.Error()) {
		t.Fatalf("headers %v", m.Headers())
	}
	if h.runs.Load() != 0 {
		t.Fatal("a message past the limit ran")
	}
}

// TestSourceHeartbeats: a task that runs for 2.5 ack waits is kept by
// in-progress heartbeats: it is not delivered again.
func TestSourceHeartbeats(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 400*time.Millisecond, 1)
	h := newHarness(t, func(w work) error {
		time.Sleep(time.Second)
		return nil
	})
	publish(t, js, h, "slow-", 2)
	src := newSource(t, js, cons, newPool(t, 2, 2), nil)
	run(t, src)
	eventually(t, 10*time.Second, "slow tasks not acked", func() bool { return src.Stats().Acked == 2 })
	time.Sleep(500 * time.Millisecond) // time for a redelivery, if any
	if n := h.runs.Load(); n != 2 {
		t.Fatalf("%d runs of 2 slow tasks: delivered again despite heartbeats", n)
	}
	if st := src.Stats(); st.Heartbeats < 4 || st.Fetched != 2 {
		t.Fatalf("stats %+v, want at least 2 heartbeats per task", st)
	}
}

// TestSourceFlowControl: with 2 workers and 4 queue slots, the source
// holds at most 6 messages however many wait in the stream; the rest stay
// there (backpressure), and all run in the end.
func TestSourceFlowControl(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	g := newGate()
	defer g.open()
	h := newHarness(t, func(w work) error {
		g.wait()
		return nil
	})
	publish(t, js, h, "fc-", 100)
	src := newSource(t, js, cons, newPool(t, 2, 4), nil)
	run(t, src)
	eventually(t, 5*time.Second, "the pool did not fill", func() bool { return src.Stats().InFlight == 6 })
	time.Sleep(300 * time.Millisecond) // more fetches, if the source would make them
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st := src.Stats(); st.InFlight != 6 || st.Fetched != 6 || info.NumAckPending != 6 {
		t.Fatalf("held %d, fetched %d, server's ack pending %d: want 6 each", st.InFlight, st.Fetched, info.NumAckPending)
	}
	g.open()
	eventually(t, 10*time.Second, "not all acked", func() bool { return src.Stats().Acked == 100 })
}

// TestSourceDrain: a canceled Run finishes and acknowledges the tasks it
// submitted, and returns at once what the fetch under way brings, so that
// another source gets those without waiting for the ack wait.
func TestSourceDrain(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	started := make(chan struct{}, 1)
	h := newHarness(t, func(w work) error {
		if w.ID == "d-0" {
			started <- struct{}{}
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	})
	publish(t, js, h, "d-", 1)
	src := newSource(t, js, cons, newPool(t, 1, 1), func(c *pooljs.Config[work]) { c.FetchWait = 2 * time.Second })
	r := run(t, src)
	<-started
	time.Sleep(50 * time.Millisecond) // the source's next fetch is under way
	r.cancel()
	publish(t, js, h, "late-", 1) // arrives in that fetch, after the cancel
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := src.Stats(); st.Acked != 1 || st.Returned != 1 {
		t.Fatalf("stats %+v: want d-0 acked and late-0 returned", st)
	}
	begin := time.Now()
	src2 := newSource(t, js, consumer(t, js), newPool(t, 1, 1), nil)
	run(t, src2)
	eventually(t, 5*time.Second, "the returned task did not run", func() bool { return src2.Stats().Acked == 1 })
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("the returned task waited %v", d)
	}
	if got := h.seen("late-0"); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("late-0 ran with deliveries %v, want [2]", got)
	}
}

// TestSourceDrainTimeout: a task still running when the drain times out
// is returned (negatively acknowledged) and Run returns.
func TestSourceDrainTimeout(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	g := newGate()
	defer g.open()
	h := newHarness(t, func(w work) error {
		g.wait()
		return nil
	})
	publish(t, js, h, "stuck-", 1)
	src := newSource(t, js, cons, newPool(t, 1, 1), func(c *pooljs.Config[work]) { c.DrainTimeout = 200 * time.Millisecond })
	r := run(t, src)
	eventually(t, 5*time.Second, "not running", func() bool { return h.runs.Load() == 1 })
	begin := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("Run took %v to return after a 200ms drain timeout", d)
	}
	if st := src.Stats(); st.Returned != 1 || st.Acked != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSourcePoolClosed: once its pool is shut down, a Source returns its
// messages and Run returns poolrt.ErrClosed.
func TestSourcePoolClosed(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	g := newGate()
	defer g.open()
	h := newHarness(t, func(w work) error {
		g.wait()
		return nil
	})
	publish(t, js, h, "c-", 3)
	p := newPool(t, 1, 2)
	src := newSource(t, js, cons, p, nil)
	r := run(t, src)
	eventually(t, 5*time.Second, "not held", func() bool { return src.Stats().InFlight == 3 })
	go func() {
		time.Sleep(50 * time.Millisecond)
		g.open()
	}()
	p.ShutdownNow() // the running task finishes; two queued ones come back
	err := r.stop(t)
	if !errors.Is(err, poolrt.ErrClosed) {
		t.Fatalf("Run: %v, want ErrClosed", err)
	}
	if st := src.Stats(); st.Returned+st.Acked != 3 || st.Returned < 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSourceConnectionClosed: a Source whose connection closes stops and
// says why.
func TestSourceConnectionClosed(t *testing.T) {
	s := startServer(t)
	nc, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	src := newSource(t, js, cons, newPool(t, 1, 1), nil)
	r := run(t, src)
	time.Sleep(50 * time.Millisecond)
	nc.Close()
	select {
	case err := <-r.done:
		r.done <- err
		if !errors.Is(err, nats.ErrConnectionClosed) || !strings.HasPrefix(err.Error(), "poolgen: ") {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its connection closed")
	}
}

// TestSourceDeadLetterUnavailable: when the dead letter cannot be
// published, the message is kept (retried later), not terminated.
func TestSourceDeadLetterUnavailable(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	h := newHarness(t, func(w work) error { return pooljs.ErrPermanent })
	var errs atomic.Int64
	src := newSource(t, js, cons, newPool(t, 1, 1), func(c *pooljs.Config[work]) {
		c.OnError = func(error) { errs.Add(1) }
	})
	if err := js.DeleteStream(context.Background(), dlqStream); err != nil {
		t.Fatal(err)
	}
	publish(t, js, h, "p-", 1)
	r := run(t, src)
	eventually(t, 15*time.Second, "no failed dead letter", func() bool { return src.Stats().Retried >= 2 })
	r.stop(t)
	if st := src.Stats(); st.DeadLettered != 0 || st.Errors < 2 || errs.Load() < 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := streamMsgs(t, js, stream); n != 1 {
		t.Fatalf("the work queue holds %d messages, want the undead-lettered one kept", n)
	}
}

// TestNewSourceChecks: NewSource refuses what cannot work.
func TestNewSourceChecks(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 30*time.Second, 1)
	ctx := context.Background()
	p := newPool(t, 1, 1)
	ok := pooljs.Config[work]{DeadLetter: deadLetter}
	limited, err := js.CreateOrUpdateConsumer(ctx, dlqStream, jetstream.ConsumerConfig{Durable: "limited", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 5})
	if err != nil {
		t.Fatal(err)
	}
	noAck, err := js.CreateOrUpdateConsumer(ctx, dlqStream, jetstream.ConsumerConfig{Durable: "noack", AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cons jetstream.Consumer
		pool pooljs.Pool[work]
		cfg  pooljs.Config[work]
		want string
	}{
		{"nil pool", cons, nil, ok, "needs"},
		{"no dead letter", cons, p, pooljs.Config[work]{}, "DeadLetter is required"},
		{"negative", cons, p, pooljs.Config[work]{DeadLetter: deadLetter, MaxBatch: -1}, "negative"},
		{"MaxDeliver", limited, p, ok, "MaxDeliver -1"},
		{"AckNone", noAck, p, ok, "acknowledge explicitly"},
		{"no dead-letter stream", cons, p, pooljs.Config[work]{DeadLetter: "nowhere"}, "no stream captures"},
	} {
		_, err := pooljs.NewSource(ctx, js, c.cons, c.pool, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "poolgen: ") {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	src := newSource(t, js, cons, p, nil)
	r := run(t, src)
	time.Sleep(20 * time.Millisecond)
	if err := src.Run(ctx); err == nil {
		t.Error("a second Run did not fail")
	}
	r.stop(t)
}

// TestSourceDefaults: a Source with the zero Config but a dead-letter
// subject takes the consumer's ack wait, and a dynamic pool's maximum
// size counts in its credit.
func TestSourceDefaults(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 0, 1)
	h := newHarness(t, nil)
	publish(t, js, h, "z-", 10)
	p, err := templatesDynamic()
	if err != nil {
		t.Fatal(err)
	}
	defer p.ShutdownNow()
	src, err := pooljs.NewSource(context.Background(), js, cons, pooljs.Pool[work](p), pooljs.Config[work]{DeadLetter: deadLetter})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, src)
	eventually(t, 10*time.Second, "not acked", func() bool { return src.Stats().Acked == 10 })
	r.stop(t)
}
