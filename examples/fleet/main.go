// Fleet runs tasks through NATS JetStream on two consumers that share one
// durable consumer, each with its own connection and its own pool, and
// shows what a fleet of processes gets from it: a producer's duplicate
// publishes stored once, a permanent failure and an undecodable message
// on the dead-letter subject, and a consumer that crashes mid-flight (its
// connection closed without a drain while it holds unacknowledged tasks)
// whose tasks the other consumer runs after the ack wait, each order's
// effect recorded exactly once by its idempotent task. It prints what
// happened and exits:
//
//	go run ./examples/fleet
//
// By default it starts an embedded NATS server with JetStream storage in
// a temporary directory, removed at exit. With -url it uses a real
// deployment instead, creating the streams and the consumer if they do
// not exist:
//
//	go run ./examples/fleet -url nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222 -replicas 3
//
// docs/FLEET.md explains the stream and consumer settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// config is what the flags set.
type config struct {
	url      string        // empty: an embedded server
	orders   int           // orders to publish
	ackWait  time.Duration // the consumer's ack wait
	crash    bool          // crash the second consumer mid-run
	replicas int           // stream and consumer replicas
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "", "NATS server `URLs`, comma-separated (default: start an embedded server in a temporary directory)")
	flag.IntVar(&cfg.orders, "orders", 200, "orders to publish")
	flag.DurationVar(&cfg.ackWait, "ackwait", 2*time.Second, "the consumer's ack wait: how long a crashed consumer's tasks wait before another gets them")
	flag.BoolVar(&cfg.crash, "crash", true, "close the second consumer's connection mid-run, without a drain")
	flag.IntVar(&cfg.replicas, "replicas", 1, "replicas of the streams and the consumer (3 on a cluster)")
	flag.Parse()
	// The pools' log records of the permanent failure would only repeat
	// the report.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// The names of the streams, subjects and consumer.
const (
	ordersStream = "ORDERS"
	ordersSubj   = "orders.charge"
	deadStream   = "ORDERS_DEAD"
	deadSubj     = "orders.dead"
	durable      = "billing"
)

// Order is the task: charge an order once. The producer chooses ID; it is
// the message ID (so the stream drops a duplicate publish) and the key
// the ledger dedupes on (so a redelivered order is not charged twice).
type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`

	delivery uint64
	ledger   *ledger
	hold     <-chan struct{} // the crashing consumer's tasks wait on it
}

// SetDelivery records the delivery count of the order's message.
func (o *Order) SetDelivery(n uint64) { o.delivery = n }

// Run charges the order, unless the ledger has it already.
func (o Order) Run(ctx context.Context) error {
	if o.Amount <= 0 {
		return fmt.Errorf("order %s: amount %v: %w", o.ID, o.Amount, pooljs.ErrPermanent)
	}
	if o.hold != nil {
		select {
		case <-o.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o.ledger.charge(o.ID, o.Amount, o.delivery)
	return nil
}

// ledger stands for a database table with a unique key on the order ID:
// charging an order twice is a no-op.
type ledger struct {
	mu          sync.Mutex
	charged     map[string]float64
	redelivered int // charges of a message delivered more than once
	skipped     int // charges that found the order charged already
}

func (l *ledger) charge(id string, amount float64, delivery uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if delivery > 1 {
		l.redelivered++
	}
	if _, ok := l.charged[id]; ok {
		l.skipped++
		return
	}
	l.charged[id] = amount
}

// count returns how many orders were charged.
func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.charged)
}

// consumerPool is a consumer's pool: it hands each order its ledger (and
// the crashing consumer's hold) before submitting it.
type consumerPool struct {
	*templates.FixedPool[Order]
	ledger *ledger
	hold   <-chan struct{}
}

func (p consumerPool) SubmitWait(ctx context.Context, o Order) error {
	o.ledger, o.hold = p.ledger, p.hold
	return p.FixedPool.SubmitWait(ctx, o)
}

// run runs the demonstration and writes its report to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	url := cfg.url
	if url == "" {
		dir, err := os.MkdirTemp("", "fleet-jetstream")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err := server.NewServer(&server.Options{
			Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
		})
		if err != nil {
			return err
		}
		srv.Start()
		defer srv.WaitForShutdown()
		defer srv.Shutdown()
		if !srv.ReadyForConnections(10 * time.Second) {
			return errors.New("the embedded server did not start")
		}
		url = srv.ClientURL()
		fmt.Fprintf(out, "embedded NATS server with JetStream at %s, storage in %s\n", url, dir)
	}

	nc, err := nats.Connect(url, nats.Name("fleet-producer"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	sc := pooljs.StreamConfig(ordersStream, ordersSubj)
	sc.Replicas = cfg.replicas
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return err
	}
	dc := pooljs.DeadLetterStreamConfig(deadStream, deadSubj)
	dc.Replicas = cfg.replicas
	dead, err := js.CreateOrUpdateStream(ctx, dc)
	if err != nil {
		return err
	}
	cc := pooljs.ConsumerConfig(durable, cfg.ackWait)
	cc.Replicas = cfg.replicas
	if _, err := js.CreateOrUpdateConsumer(ctx, ordersStream, cc); err != nil {
		return err
	}

	// The producer: every order, some twice (a producer retrying after a
	// lost acknowledgement), one with a bad amount, and a body that is not
	// an order at all.
	pub := pooljs.NewPublisher[Order](js, ordersSubj, nil)
	runID := fmt.Sprint(time.Now().UnixNano()) // fresh IDs on a reused deployment
	published, duplicates := 0, 0
	var firstSeq uint64 // this run's first message: dead letters of earlier runs come before it
	for i := range cfg.orders {
		o := Order{ID: fmt.Sprintf("%s-%04d", runID, i), Amount: float64(10 + i%90)}
		if i == cfg.orders/2 {
			o.Amount = -5
		}
		for range 1 + btoi(i%10 == 0) {
			ack, err := pub.Publish(ctx, o.ID, o)
			if err != nil {
				return err
			}
			if ack.Duplicate {
				duplicates++
			} else {
				published++
			}
			if firstSeq == 0 {
				firstSeq = ack.Sequence
			}
		}
	}
	garbage := nats.NewMsg(ordersSubj)
	garbage.Data = []byte("charge everything!")
	if _, err := js.PublishMsg(ctx, garbage, jetstream.WithMsgID(runID+"-garbage")); err != nil {
		return err
	}
	fmt.Fprintf(out, "producer: published %d orders and 1 garbage message; %d duplicate publishes dropped by the stream\n", published, duplicates)

	// Two consumers, each with its own connection and its own named pool,
	// sharing the durable consumer. The second one's tasks hold until it
	// has crashed.
	book := &ledger{charged: make(map[string]float64)}
	hold := make(chan struct{})
	released := sync.OnceFunc(func() { close(hold) })
	defer released()
	type consumer struct {
		name string
		nc   *nats.Conn
		pool *templates.FixedPool[Order]
		src  *pooljs.Source[Order]
		err  chan error
	}
	var consumers []*consumer
	var fetchErrors atomic.Int64
	for i := range 2 {
		c := &consumer{name: fmt.Sprintf("consumer-%d", i+1), err: make(chan error, 1)}
		if c.nc, err = nats.Connect(url, nats.Name("fleet-"+c.name)); err != nil {
			return err
		}
		defer c.nc.Close()
		cjs, err := jetstream.New(c.nc)
		if err != nil {
			return err
		}
		cons, err := cjs.Consumer(ctx, ordersStream, durable)
		if err != nil {
			return err
		}
		c.pool, err = templates.NewFixedPool[Order](poolrt.Workers(4), poolrt.QueueSize(16), poolrt.Name("fleet-"+c.name))
		if err != nil {
			return err
		}
		defer c.pool.ShutdownNow()
		p := consumerPool{FixedPool: c.pool, ledger: book}
		if i == 1 && cfg.crash {
			p.hold = hold
		}
		c.src, err = pooljs.NewSource(ctx, cjs, cons, pooljs.Pool[Order](p), pooljs.Config[Order]{
			DeadLetter:   deadSubj,
			Backoff:      pooljs.Backoff{Initial: 100 * time.Millisecond, Max: time.Second},
			FetchWait:    250 * time.Millisecond,
			DrainTimeout: 200 * time.Millisecond,
			OnError:      func(error) { fetchErrors.Add(1) },
		})
		if err != nil {
			return err
		}
		consumers = append(consumers, c)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	// The second consumer starts first, so that it holds tasks when it
	// crashes.
	for i := len(consumers) - 1; i >= 0; i-- {
		c := consumers[i]
		go func() { c.err <- c.src.Run(runCtx) }()
		if i == 1 && cfg.crash {
			for c.src.Stats().InFlight < 8 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
		}
	}
	crashed := 0
	if cfg.crash {
		victim := consumers[1]
		crashed = victim.src.Stats().InFlight
		victim.nc.Close() // no drain: its messages stay unacknowledged
		fmt.Fprintf(out, "%s: crashed holding %d unacknowledged orders\n", victim.name, crashed)
	}

	// Wait until every order is charged or dead, then stop.
	want := published + 1 // the garbage
	for {
		settled, held := book.count(), 0
		for _, c := range consumers {
			st := c.src.Stats()
			settled += int(st.DeadLettered)
			if c.nc.IsConnected() {
				held += st.InFlight
			}
		}
		if settled >= want && held == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d orders settled: %w", settled, want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	released() // the crashed consumer's tasks now run, and find their orders charged
	stop()
	for _, c := range consumers {
		err := <-c.err
		if err := c.pool.Shutdown(ctx); err != nil {
			return err
		}
		st := c.src.Stats()
		fmt.Fprintf(out, "%s: fetched %d, acked %d, retried %d, dead-lettered %d, returned %d, Run: %v\n",
			c.name, st.Fetched, st.Acked, st.Retried, st.DeadLettered, st.Returned, errText(err))
	}

	book.mu.Lock()
	fmt.Fprintf(out, "ledger: %d orders charged once each in %v; %d charges of redelivered messages, %d found their order charged already\n",
		len(book.charged), elapsed.Round(time.Millisecond), book.redelivered, book.skipped)
	lost := published - 1 - len(book.charged) // less the order with a bad amount
	book.mu.Unlock()

	letters, err := readDead(ctx, js, dead, firstSeq)
	if err != nil {
		return err
	}
	for _, l := range letters {
		fmt.Fprintln(out, "dead letter:", l)
	}
	if lost != 0 || len(letters) != 2 {
		return fmt.Errorf("%d orders lost, %d dead letters (want 0 and 2)", lost, len(letters))
	}
	fmt.Fprintln(out, "nothing lost, nothing charged twice")
	return nil
}

// readDead returns the dead letters of messages from sequence first on of
// the orders stream, one line each.
func readDead(ctx context.Context, js jetstream.JetStream, dead jetstream.Stream, first uint64) ([]string, error) {
	info, err := dead.Info(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, deadStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var lines []string
	for got := uint64(0); got < info.State.Msgs; {
		batch, err := cons.Fetch(int(info.State.Msgs-got), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			h := m.Headers()
			if seq, _ := strconv.ParseUint(h.Get(pooljs.HeaderSequence), 10, 64); seq < first {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s after %s deliveries: %q (body %q)",
				h.Get(pooljs.HeaderReason), h.Get(pooljs.HeaderAttempts), h.Get(pooljs.HeaderError), shorten(string(m.Data()))))
		}
		if n == 0 {
			break
		}
		got += uint64(n)
	}
	sort.Strings(lines)
	return lines, nil
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func errText(err error) string {
	if err == nil {
		return "stopped"
	}
	return strings.TrimPrefix(err.Error(), "poolgen: jetstream: ")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
