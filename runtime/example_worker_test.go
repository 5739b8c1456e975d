package poolrt_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Conn stands for a connection to a backend: one per worker, opened as
// the worker starts and closed as it ends.
type Conn struct {
	mu   sync.Mutex
	sent []string
}

func (c *Conn) Send(msg string) {
	c.mu.Lock()
	c.sent = append(c.sent, msg)
	c.mu.Unlock()
}

// Message is a task that sends itself over its worker's connection.
type Message struct{ Text string }

func (m Message) Run(ctx context.Context) error {
	conn, ok := poolrt.Resource[*Conn](ctx)
	if !ok {
		return fmt.Errorf("no connection")
	}
	conn.Send(m.Text)
	return nil
}

// WorkerResource gives each worker its own connection, which its tasks
// find in their context: no lock around a shared client, no pool of
// connections to check out from.
func ExampleWorkerResource() {
	var mu sync.Mutex
	var closed []string
	dial := func(ctx context.Context) (*Conn, error) { return &Conn{}, nil }
	hangUp := func(c *Conn) {
		mu.Lock()
		closed = append(closed, strings.Join(c.sent, ","))
		mu.Unlock()
	}
	p, err := templates.NewFixedPool[Message](poolrt.Workers(2), poolrt.WorkerResource(dial, hangUp))
	if err != nil {
		panic(err)
	}
	for _, text := range []string{"a", "b", "c", "d"} {
		if err := p.SubmitWait(context.Background(), Message{text}); err != nil {
			panic(err)
		}
	}
	_ = p.Shutdown(context.Background())
	st := p.Stats().Resources
	fmt.Println("connections closed:", len(closed), "opened:", st.Opened, "closed:", st.Closed)
	// Output: connections closed: 2 opened: 2 closed: 2
}
