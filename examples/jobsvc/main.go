// Jobsvc is an example service built on poolgen's generated pools: an
// HTTP API that runs requests on a priority pool and answers with their
// results, background jobs queued in NATS JetStream and run from it, and
// an event log in SQLite written in batches. It shows the pieces a
// production service needs around the pools: backpressure answered with
// 503, metrics, a live page, idempotent effects and a graceful shutdown.
//
//	go run ./examples/jobsvc -addr 127.0.0.1:8080 -nats nats://127.0.0.1:4222 -db jobsvc.db
//
// It needs a NATS server with JetStream (nats-server -js); it creates the
// streams JOBS (subject jobs.run) and JOBS_DEAD (jobs.dead) and the durable
// consumer "jobsvc" if they do not exist. Several instances may share
// them, each with its own database.
//
// # The API
//
//	POST /v1/requests  {"id", "class", "input", "rounds", "sleep_ms"}
//	    runs the request on the request pool (RequestPriorityPool): class
//	    "interactive" before "bulk" (with aging, so that bulk requests
//	    still run), and answers 200 {"id", "class", "result"} once the
//	    result is computed and its event stored. A full or closed pool
//	    answers 503 with Retry-After: the client retries, with the same ID.
//	POST /v1/jobs      {"id", "account", "amount", "sleep_ms"}
//	    publishes the job to the stream with its ID as message ID
//	    (pooljs.Publisher) and answers 202 {"id", "seq", "duplicate"} once
//	    the stream has stored it; 503 with Retry-After if it could not.
//	GET /metrics       the pools (poolprom), the Source and the database, for Prometheus
//	GET /debug/pools/  the pools, live (poolmon)
//	GET /healthz       200 while serving
//
// A pooljs.Source pulls the jobs into the job pool (JobFixedPool) and
// acknowledges each message once its job's effect and event are
// committed. The effect (a credit to an account) is applied in one
// transaction with a row keyed on the job's ID, so a job delivered again
// changes nothing: each is applied exactly once. Events go through the
// event batch pool (EventBatchPool), one transaction per batch, keyed on
// the request's or job's ID: a replay is stored once.
//
// # Shutdown
//
// On SIGTERM or SIGINT the service stops in this order, each step
// bounded by -shutdown-timeout:
//
//  1. The HTTP server stops listening and closes its idle connections;
//     the requests in flight are answered as usual (their tasks run and
//     their events are stored before the answer), then their connections
//     close. A request on a connection that the server closed as idle is
//     not read: the client sees the connection closed and retries. If the
//     timeout passes first, the remaining connections are closed without
//     an answer; their accepted tasks still run and their events are
//     still stored, so a client's retry with the same ID finds them.
//  2. The Source stops fetching, returns what it has not submitted (nak,
//     for another instance or the next start) and waits for the submitted
//     jobs, acknowledging each by its outcome.
//  3. The request and job pools shut down, running what they queued.
//  4. The event pool shuts down, flushing its last batches.
//  5. The connection to NATS is flushed and closed, and the database is
//     closed.
//
// It exits with status 0 when every step finished in time, 1 otherwise. A
// second signal ends it at once; what it had not stored is then in the
// same state as after a crash: unacknowledged jobs are delivered again
// after the ack wait, and clients retry the requests they got no answer
// for.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	cfg := defaults()
	flag.StringVar(&cfg.addr, "addr", cfg.addr, "listen on `host:port` (port 0: any free port; the address is printed)")
	flag.StringVar(&cfg.natsURL, "nats", cfg.natsURL, "NATS server `URLs`, comma-separated")
	flag.StringVar(&cfg.dbPath, "db", cfg.dbPath, "the SQLite database `file`")
	flag.IntVar(&cfg.workers, "workers", cfg.workers, "request pool workers")
	flag.IntVar(&cfg.queue, "queue", cfg.queue, "request pool queue size: requests beyond it get 503")
	flag.IntVar(&cfg.jobWorkers, "job-workers", cfg.jobWorkers, "job pool workers (a job mostly waits for its commits)")
	flag.DurationVar(&cfg.ackWait, "ackwait", cfg.ackWait, "the job consumer's ack wait: how long a job held by a crashed instance waits before another gets it")
	flag.DurationVar(&cfg.linger, "linger", cfg.linger, "how long the event pool waits to fill a batch")
	flag.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", cfg.shutdownTimeout, "bound of each step of the shutdown")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once the first signal has started the shutdown, a second one
	// ends the process at once, as if none were handled.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, cfg, log); err != nil {
		log.Error("jobsvc stopped", "err", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	addr, natsURL, dbPath string
	workers, queue        int
	jobWorkers            int
	ackWait, linger       time.Duration
	shutdownTimeout       time.Duration
}

// defaults returns the flags' defaults.
func defaults() config {
	return config{
		addr:            "127.0.0.1:8080",
		natsURL:         nats.DefaultURL,
		dbPath:          "jobsvc.db",
		workers:         runtime.GOMAXPROCS(0),
		queue:           64,
		jobWorkers:      16,
		ackWait:         10 * time.Second,
		linger:          5 * time.Millisecond,
		shutdownTimeout: 10 * time.Second,
	}
}

// run starts the service, serves until ctx is done and shuts it down.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	svc, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return errors.Join(err, svc.stop(cfg.shutdownTimeout))
	}
	// The line a supervisor (or the test) reads for the address.
	fmt.Printf("jobsvc: listening on http://%s\n", ln.Addr())
	return svc.serve(ctx, ln, cfg.shutdownTimeout)
}
