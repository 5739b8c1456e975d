package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
)

// The names of the streams, subjects and consumer.
const (
	jobStream  = "JOBS"
	jobSubject = "jobs.run"
	deadStream = "JOBS_DEAD"
	deadSubj   = "jobs.dead"
	durable    = "jobsvc"
)

// classes maps a request's class to its priority in the request pool.
var classes = map[string]int{
	"interactive": 10,
	"bulk":        0,
}

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "1"

// The bounds of a request's and a job's parameters.
const (
	maxIDLen  = 128
	maxRounds = 100_000
	maxSleep  = time.Second
	maxBody   = 64 << 10
)

// service is a running jobsvc: its pools, Source, publisher and database.
type service struct {
	log      *slog.Logger
	store    *store
	requests *RequestPriorityPool
	events   *EventBatchPool
	jobs     *JobFixedPool
	nc       *nats.Conn
	pub      *pooljs.Publisher[Job]
	src      *pooljs.Source[Job]
	mon      *poolmon.Monitor
	handler  http.Handler
}

// start opens the database, starts the pools, connects to NATS, creates
// the streams and the consumer if need be, and builds the HTTP handler.
// On failure it releases what it started.
func start(ctx context.Context, cfg config, log *slog.Logger) (_ *service, err error) {
	s := &service{log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.stop(cfg.shutdownTimeout))
		}
	}()
	if s.store, err = openStore(ctx, cfg.dbPath); err != nil {
		return nil, err
	}
	if s.events, err = NewEventBatchPool(poolrt.Name("events"), poolrt.Workers(2), poolrt.QueueSize(4096),
		poolrt.MaxBatch(256), poolrt.Linger(cfg.linger)); err != nil {
		return nil, err
	}
	// A full request pool refuses at once (503) rather than holding the
	// client; interactive requests run first, and a bulk request ages ten
	// priorities in half a second, so it is not starved.
	if s.requests, err = NewRequestPriorityPool(poolrt.Name("requests"), poolrt.Workers(cfg.workers),
		poolrt.QueueSize(cfg.queue), poolrt.OnFull(poolrt.Reject), poolrt.Aging(50*time.Millisecond),
		poolrt.Bands(int64(classes["interactive"]))); err != nil {
		return nil, err
	}
	if s.jobs, err = NewJobFixedPool(poolrt.Name("jobs"), poolrt.Workers(cfg.jobWorkers),
		poolrt.QueueSize(2*cfg.jobWorkers)); err != nil {
		return nil, err
	}

	if s.nc, err = nats.Connect(cfg.natsURL, nats.Name("jobsvc"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond)); err != nil {
		return nil, fmt.Errorf("poolgen: jobsvc: connect to %s: %w", cfg.natsURL, err)
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return nil, err
	}
	if _, err = js.CreateOrUpdateStream(ctx, pooljs.StreamConfig(jobStream, jobSubject)); err != nil {
		return nil, fmt.Errorf("poolgen: jobsvc: stream %s: %w", jobStream, err)
	}
	if _, err = js.CreateOrUpdateStream(ctx, pooljs.DeadLetterStreamConfig(deadStream, deadSubj)); err != nil {
		return nil, fmt.Errorf("poolgen: jobsvc: stream %s: %w", deadStream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, jobStream, pooljs.ConsumerConfig(durable, cfg.ackWait))
	if err != nil {
		return nil, fmt.Errorf("poolgen: jobsvc: consumer %s: %w", durable, err)
	}
	env := &jobEnv{store: s.store, events: s.events}
	s.src, err = pooljs.NewSource(ctx, js, cons, pooljs.Pool[Job](jobPool{JobFixedPool: s.jobs, env: env}), pooljs.Config[Job]{
		DeadLetter:   deadSubj,
		Backoff:      pooljs.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second},
		FetchWait:    250 * time.Millisecond,
		DrainTimeout: cfg.shutdownTimeout,
		OnError:      func(err error) { log.Warn("job source", "err", err) },
	})
	if err != nil {
		return nil, err
	}
	s.pub = pooljs.NewPublisher[Job](js, jobSubject, nil)

	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	if s.mon, err = poolmon.Start(poolmon.Config{
		Rules: []poolmon.Rule{
			poolmon.WaitP99Above(500 * time.Millisecond), poolmon.Saturation(),
			poolmon.FailureRateAbove(0.05), poolmon.Stuck(),
		},
		Logger: log,
	}); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/requests", s.handleRequest)
	mux.HandleFunc("POST /v1/jobs", s.handleJob)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/pools/", s.mon)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	s.handler = mux
	return s, nil
}

// registry returns the Prometheus registry of the pools (poolprom), the
// Go runtime, the process, the Source and the database.
func (s *service) registry() (*prometheus.Registry, error) {
	exporter, err := poolprom.New()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exporter, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, read func() uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(read()) }))
	}
	counter("jobsvc_source_fetched_total", "Job messages received from the stream.", func() uint64 { return s.src.Stats().Fetched })
	counter("jobsvc_source_acked_total", "Job messages acknowledged after their job succeeded.", func() uint64 { return s.src.Stats().Acked })
	counter("jobsvc_source_retried_total", "Job messages returned with a backoff after a failure.", func() uint64 { return s.src.Stats().Retried })
	counter("jobsvc_source_returned_total", "Job messages returned unrun (draining, pool closed).", func() uint64 { return s.src.Stats().Returned })
	counter("jobsvc_source_dead_lettered_total", "Job messages sent to the dead letters.", func() uint64 { return s.src.Stats().DeadLettered })
	counter("jobsvc_events_written_total", "Events inserted.", s.store.eventsWritten.Load)
	counter("jobsvc_events_replayed_total", "Events whose ID was stored already.", s.store.eventsReplayed.Load)
	counter("jobsvc_jobs_applied_total", "Jobs whose effect was applied.", s.store.jobsApplied.Load)
	counter("jobsvc_jobs_replayed_total", "Job runs that found their effect applied already.", s.store.jobsReplayed.Load)
	return reg, nil
}

// serve serves on ln and runs the Source until ctx is done (or the
// server or the Source fails), then shuts down as the package comment
// says, each step bounded by timeout.
func (s *service) serve(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	srcCtx, stopSource := context.WithCancel(context.Background())
	defer stopSource()
	sourced := make(chan error, 1)
	go func() { sourced <- s.src.Run(srcCtx) }()
	s.log.Info("jobsvc serving", "addr", ln.Addr().String())

	var errs []error
	select {
	case <-ctx.Done():
	case err := <-served:
		errs = append(errs, fmt.Errorf("poolgen: jobsvc: serve: %w", err))
		served <- nil
	case err := <-sourced:
		errs = append(errs, fmt.Errorf("poolgen: jobsvc: job source: %w", err))
		sourced <- nil
	}
	s.log.Info("jobsvc shutting down")

	// 1. HTTP. The monitor first: stopping it ends the live page's event
	// streams, which would hold the server's shutdown up.
	s.mon.Stop()
	shutCtx, cancel := context.WithTimeout(context.Background(), timeout)
	if err := srv.Shutdown(shutCtx); err != nil {
		errs = append(errs, fmt.Errorf("poolgen: jobsvc: HTTP shutdown: %w", err), srv.Close())
	}
	cancel()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	// 2. The Source: it drains within its DrainTimeout, the same bound.
	stopSource()
	if err := <-sourced; err != nil {
		errs = append(errs, fmt.Errorf("poolgen: jobsvc: job source: %w", err))
	}
	// 3 to 5.
	errs = append(errs, s.stop(timeout))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.log.Info("jobsvc stopped")
	return nil
}

// stop shuts down the pools (requests and jobs, then events, which the
// jobs write to), then closes the connection and the database, each
// step bounded by timeout. It stops only what start started.
func (s *service) stop(timeout time.Duration) error {
	var errs []error
	shutdown := func(name string, pool interface {
		Shutdown(context.Context) error
	}) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := pool.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("poolgen: jobsvc: shut down the %s pool: %w", name, err))
		}
	}
	if s.mon != nil {
		s.mon.Stop()
	}
	if s.requests != nil {
		shutdown("requests", s.requests)
	}
	if s.jobs != nil {
		shutdown("jobs", s.jobs)
	}
	if s.events != nil {
		shutdown("events", s.events)
	}
	if s.nc != nil {
		if err := s.nc.FlushTimeout(timeout); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("poolgen: jobsvc: flush the NATS connection: %w", err))
		}
		s.nc.Close()
	}
	if s.store != nil {
		if err := s.store.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// requestBody is the body of POST /v1/requests.
type requestBody struct {
	ID      string `json:"id"`
	Class   string `json:"class"`
	Input   string `json:"input"`
	Rounds  int    `json:"rounds"`
	SleepMS int    `json:"sleep_ms"`
}

// requestAnswer is the body of its 200 answer.
type requestAnswer struct {
	ID     string `json:"id"`
	Class  string `json:"class"`
	Result string `json:"result"`
}

// handleRequest runs a request on the request pool, stores its event and
// answers with its result.
func (s *service) handleRequest(w http.ResponseWriter, r *http.Request) {
	var b requestBody
	if !decode(w, r, &b) {
		return
	}
	prio, ok := classes[b.Class]
	switch {
	case b.ID == "" || len(b.ID) > maxIDLen:
		fail(w, http.StatusBadRequest, "id must have 1 to %d bytes", maxIDLen)
		return
	case !ok:
		fail(w, http.StatusBadRequest, "unknown class %q: use interactive or bulk", b.Class)
		return
	case b.Rounds < 0 || b.Rounds > maxRounds:
		fail(w, http.StatusBadRequest, "rounds %d out of range 0..%d", b.Rounds, maxRounds)
		return
	case b.SleepMS < 0 || time.Duration(b.SleepMS)*time.Millisecond > maxSleep:
		fail(w, http.StatusBadRequest, "sleep_ms %d out of range 0..%d", b.SleepMS, maxSleep.Milliseconds())
		return
	}
	req := &Request{ID: b.ID, Class: b.Class, Priority: prio, Input: b.Input, Rounds: b.Rounds,
		Sleep: time.Duration(b.SleepMS) * time.Millisecond}
	if err := s.requests.SubmitWait(r.Context(), req); err != nil {
		s.refuse(w, "request", err)
		return
	}
	ev := Event{ID: req.ID, Kind: "request", Class: req.Class, Result: req.Result, At: time.Now(), store: s.store}
	if err := s.events.SubmitWait(r.Context(), ev); err != nil {
		s.refuse(w, "event", err)
		return
	}
	answer(w, http.StatusOK, requestAnswer{ID: req.ID, Class: req.Class, Result: req.Result})
}

// jobBody is the body of POST /v1/jobs.
type jobBody struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
	SleepMS int    `json:"sleep_ms"`
}

// jobAnswer is the body of its 202 answer.
type jobAnswer struct {
	ID        string `json:"id"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate"`
}

// publishTimeout bounds the wait for the stream's acknowledgement.
const publishTimeout = 5 * time.Second

// handleJob publishes a job to the stream.
func (s *service) handleJob(w http.ResponseWriter, r *http.Request) {
	var b jobBody
	if !decode(w, r, &b) {
		return
	}
	switch {
	case b.ID == "" || len(b.ID) > maxIDLen:
		fail(w, http.StatusBadRequest, "id must have 1 to %d bytes", maxIDLen)
		return
	case b.Account == "" || len(b.Account) > maxIDLen:
		fail(w, http.StatusBadRequest, "account must have 1 to %d bytes", maxIDLen)
		return
	case b.Amount <= 0:
		fail(w, http.StatusBadRequest, "amount must be positive, not %d", b.Amount)
		return
	case b.SleepMS < 0 || time.Duration(b.SleepMS)*time.Millisecond > maxSleep:
		fail(w, http.StatusBadRequest, "sleep_ms %d out of range 0..%d", b.SleepMS, maxSleep.Milliseconds())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	ack, err := s.pub.Publish(ctx, b.ID, Job{ID: b.ID, Account: b.Account, Amount: b.Amount,
		Sleep: time.Duration(b.SleepMS) * time.Millisecond})
	if err != nil {
		s.log.Warn("publish", "id", b.ID, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		fail(w, http.StatusServiceUnavailable, "the job could not be queued: %v", err)
		return
	}
	answer(w, http.StatusAccepted, jobAnswer{ID: b.ID, Seq: ack.Sequence, Duplicate: ack.Duplicate})
}

// refuse answers a request whose task or event was not done: 503 with
// Retry-After if a pool was full or closed, 500 if it failed.
func (s *service) refuse(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, poolrt.ErrQueueFull), errors.Is(err, poolrt.ErrClosed):
		w.Header().Set("Retry-After", retryAfter)
		fail(w, http.StatusServiceUnavailable, "busy: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client is gone: nobody reads the answer.
		fail(w, http.StatusServiceUnavailable, "%s: %v", what, err)
	default:
		s.log.Error("request failed", "what", what, "err", err)
		fail(w, http.StatusInternalServerError, "%s failed: %v", what, err)
	}
}

// decode reads a JSON body of at most maxBody bytes into v, or answers
// 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "bad body: %v", err)
		return false
	}
	return true
}

// answer writes v as JSON with status code.
func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// fail writes an error as JSON with status code.
func fail(w http.ResponseWriter, code int, format string, args ...any) {
	answer(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}
