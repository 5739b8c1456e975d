package pooljs_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Email is the task of the example: send one email, once.
type Email struct {
	ID string `json:"id"` // chosen by the producer: the message ID, and the key the task dedupes on
	To string `json:"to"`

	delivery uint64
}

// SetDelivery records the delivery count of the task's message.
func (e *Email) SetDelivery(n uint64) { e.delivery = n }

var (
	sentMu sync.Mutex
	sent   = map[string]string{} // ID → recipient: the idempotent effect
)

// Run sends the email unless it was sent already.
func (e Email) Run(ctx context.Context) error {
	if strings.HasSuffix(e.To, "@invalid") {
		return fmt.Errorf("bad address %s: %w", e.To, pooljs.ErrPermanent)
	}
	sentMu.Lock()
	defer sentMu.Unlock()
	if _, dup := sent[e.ID]; !dup {
		sent[e.ID] = fmt.Sprintf("%s (delivery %d)", e.To, e.delivery)
	}
	return nil
}

// ExampleSource publishes tasks to a stream and runs them on a pool fed
// by a Source: the embedded server stands in for a cluster, whose URL is
// all that production use changes.
func ExampleSource() {
	dir, _ := os.MkdirTemp("", "pooljs-example")
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	srv.ReadyForConnections(5 * time.Second)

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	js.CreateStream(ctx, pooljs.StreamConfig("EMAIL", "email.send"))
	js.CreateStream(ctx, pooljs.DeadLetterStreamConfig("EMAIL_DEAD", "email.dead"))
	cons, _ := js.CreateOrUpdateConsumer(ctx, "EMAIL", pooljs.ConsumerConfig("mailers", 30*time.Second))

	// The producer: publishing an ID twice stores it once.
	pub := pooljs.NewPublisher[Email](js, "email.send", nil)
	for _, e := range []Email{{ID: "1", To: "ann@example.com"}, {ID: "2", To: "bob@example.com"}, {ID: "2", To: "bob@example.com"}, {ID: "3", To: "eve@invalid"}} {
		if _, err := pub.Publish(ctx, e.ID, e); err != nil {
			panic(err)
		}
	}

	// The consumer: a pool, and a Source feeding it.
	pool, _ := templates.NewFixedPool[Email](poolrt.Workers(2), poolrt.Name("mailers"))
	defer pool.ShutdownNow()
	src, err := pooljs.NewSource(ctx, js, cons, pooljs.Pool[Email](pool), pooljs.Config[Email]{DeadLetter: "email.dead"})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- src.Run(runCtx) }()
	for src.Stats().Acked+src.Stats().DeadLettered < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	fmt.Println("Run:", <-done)

	sentMu.Lock()
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range sent {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		fmt.Println("sent", id, "to", sent[id])
	}
	sentMu.Unlock()
	st := src.Stats()
	fmt.Printf("acked %d, dead letters %d\n", st.Acked, st.DeadLettered)
	// Output:
	// Run: <nil>
	// sent 1 to ann@example.com (delivery 1)
	// sent 2 to bob@example.com (delivery 1)
	// acked 2, dead letters 1
}
