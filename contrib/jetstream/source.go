package pooljs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// Pool is what a Source feeds: every poolgen pool of T, generated or
// generic (templates), has these methods.
type Pool[T any] interface {
	SubmitWait(ctx context.Context, t T) error
	Stats() poolrt.Stats
	Closed() bool
}

// ErrPermanent marks a task error that retrying will not cure (bad input, a
// missing record): a Source whose Config.Retryable is nil sends a message
// whose task returned an error for which errors.Is(err, ErrPermanent)
// holds straight to the dead-letter subject. Wrap it:
// fmt.Errorf("order %d: no such customer: %w", id, pooljs.ErrPermanent).
// An error marked by poolrt.Permanent, which the pools' own Retry policy
// obeys, is permanent here too, so a task type can mark its errors once
// for both.
var ErrPermanent = errors.New("poolgen: permanent failure")

// ErrDeliveryLimit is the error a dead letter carries for a message whose
// delivery count passed Config.MaxDeliveries before its task could run
// again: its last attempt died with its consumer (a crash, a closed
// connection, an ack wait that ran out).
var ErrDeliveryLimit = errors.New("poolgen: delivery limit reached")

// DeliverySetter is implemented by task types that want to know which
// delivery of their message they are: a Source calls SetDelivery on the
// decoded task (on *T, or on T when T is a pointer), before it submits it,
// with the message's delivery count, 1 for the first delivery. The pool
// passes its own context to Run, not the Source's, so the count travels in
// the task itself.
type DeliverySetter interface {
	SetDelivery(n uint64)
}

// The headers of a dead letter. Its body is the original message's, raw,
// and it keeps the original's headers except those named Nats-*.
const (
	// HeaderError is the error that sent the message to the dead letters.
	HeaderError = "Poolgen-Error"
	// HeaderReason is why: "decode", "permanent" or "attempts".
	HeaderReason = "Poolgen-Reason"
	// HeaderAttempts is the message's delivery count at that point.
	HeaderAttempts = "Poolgen-Attempts"
	// HeaderSubject is the subject the message was published to.
	HeaderSubject = "Poolgen-Subject"
	// HeaderStream is the stream the message was stored in.
	HeaderStream = "Poolgen-Stream"
	// HeaderSequence is the message's sequence in that stream.
	HeaderSequence = "Poolgen-Stream-Seq"
)

// The values of HeaderReason.
const (
	ReasonDecode    = "decode"    // the codec could not decode the body
	ReasonPermanent = "permanent" // the task's error is not retryable
	ReasonAttempts  = "attempts"  // the delivery count reached Config.MaxDeliveries
)

// Backoff is the delay before a failed task's message is delivered again:
// Initial after the first failure, doubling with each delivery up to Max,
// with equal jitter (a uniform random delay between half and all of it),
// so that the retries of a burst of failures spread out.
type Backoff struct {
	Initial time.Duration // default 1s
	Max     time.Duration // default 1m
}

// Config configures a Source. The zero value of each field is its default.
type Config[T any] struct {
	// Codec decodes message bodies into tasks (default JSON[T]()).
	Codec Codec[T]
	// DeadLetter is the subject that dead letters are published to,
	// through JetStream: a stream must capture it (NewSource checks).
	// Required.
	DeadLetter string
	// MaxDeliveries is how many times a message is delivered at most: a
	// retryable failure of its last delivery, or a delivery beyond it,
	// sends it to the dead letters (default 5). The consumer's own
	// MaxDeliver must be unlimited: see NewSource.
	MaxDeliveries int
	// Retryable classifies a task's error: false sends the message to the
	// dead letters at once (default: every error but those that wrap
	// ErrPermanent or are marked by poolrt.Permanent). A panic (*poolrt.PanicError) is an error like any
	// other.
	Retryable func(error) bool
	// Backoff is the delay before a retry.
	Backoff Backoff
	// MaxBatch bounds one fetch (default 64).
	MaxBatch int
	// MaxInFlight bounds the messages the Source holds unsettled, fetched
	// and not yet acknowledged, negatively acknowledged or terminated
	// (default the pool's queue capacity plus its workers, or its maximum
	// size for a dynamic pool).
	MaxInFlight int
	// FetchWait is how long one fetch waits for messages (default 1s): it
	// bounds how long a stop waits for the fetch under way.
	FetchWait time.Duration
	// AckWait is the consumer's ack wait (default: read from the
	// consumer's configuration). Tasks held longer than half of it get
	// in-progress heartbeats.
	AckWait time.Duration
	// DrainTimeout bounds how long Run waits, once its context is done,
	// for the tasks already submitted to finish (default AckWait). Those
	// still running then are negatively acknowledged, so they will be
	// delivered again while they may still be running here: tasks should
	// be idempotent.
	DrainTimeout time.Duration
	// OnError is told of what failed on the way without losing a message
	// (a fetch, an ack, a heartbeat, a dead-letter publish that will be
	// retried); nil ignores them. Stats counts them.
	OnError func(error)
}

// Stats counts what a Source did.
type Stats struct {
	Fetched      uint64 // messages received
	Acked        uint64 // tasks that succeeded, acknowledged
	Retried      uint64 // negatively acknowledged with a backoff after a retryable failure
	Returned     uint64 // negatively acknowledged at once, not run: draining, or the pool closed or full
	DeadLettered uint64 // published to the dead-letter subject and terminated
	DecodeErrors uint64 // of DeadLettered, bodies the codec could not decode
	Heartbeats   uint64 // in-progress acknowledgements sent
	Errors       uint64 // failed fetches, acks, heartbeats and dead-letter publishes
	InFlight     int    // messages received and not yet settled
}

// A Source pulls tasks from a JetStream consumer into a pool and settles
// each message by its task's outcome: it acknowledges a message only after
// its task succeeded, negatively acknowledges it with a backoff after a
// retryable failure, and publishes it to the dead-letter subject and
// terminates it after a permanent failure, an undecodable body or its last
// delivery. It fetches only as many messages as the pool has room for.
//
// Delivery is at least once: a task may run again after a crash, a lost
// acknowledgement or a drain that ran out of time, so tasks should be
// idempotent (dedupe on an ID the producer chose).
//
// Several Sources, in one process or many, may share one durable consumer:
// JetStream hands each message to one of them.
type Source[T any] struct {
	js    jetstream.JetStream
	cons  jetstream.Consumer
	pool  Pool[T]
	codec Codec[T]

	dead          string
	maxDeliveries uint64
	retryable     func(error) bool
	backoff       Backoff
	maxBatch      int
	maxInFlight   int
	fetchWait     time.Duration
	ackWait       time.Duration
	drainTimeout  time.Duration
	onError       func(error)

	started atomic.Bool
	wg      sync.WaitGroup
	freed   chan struct{} // a message was settled: there may be credit

	mu       sync.Mutex
	inflight map[*delivery]struct{}

	inFlight                                   atomic.Int64
	fetched, acked, retried, returned          atomic.Uint64
	deadLettered, decodeErrors, heartbeats, ne atomic.Uint64
}

// delivery is a message held by the Source.
type delivery struct {
	msg  jetstream.Msg
	last time.Time // received, or last heartbeat; guarded by Source.mu
}

// pollInterval is how often a Source without credit looks at the pool
// again, for room that other submitters' tasks freed.
const pollInterval = 5 * time.Millisecond

// publishTimeout bounds a dead-letter publish.
const publishTimeout = 5 * time.Second

// NewSource returns a Source that feeds pool from cons, a pull consumer,
// and publishes dead letters through js. It checks the consumer's
// configuration: acknowledgements must be explicit, and MaxDeliver
// unlimited (-1), because the Source decides when a message has had its
// last delivery: a message whose last delivery by the server's count dies
// with its consumer gets only an advisory, and would never reach the dead
// letters. It checks that a stream captures cfg.DeadLetter (ctx bounds
// that request).
func NewSource[T any](ctx context.Context, js jetstream.JetStream, cons jetstream.Consumer, pool Pool[T], cfg Config[T]) (*Source[T], error) {
	if js == nil || cons == nil || pool == nil {
		return nil, errors.New("poolgen: jetstream: NewSource needs a JetStream, a consumer and a pool")
	}
	if cfg.DeadLetter == "" {
		return nil, errors.New("poolgen: jetstream: Config.DeadLetter is required")
	}
	if cfg.MaxDeliveries < 0 || cfg.MaxBatch < 0 || cfg.MaxInFlight < 0 || cfg.FetchWait < 0 ||
		cfg.AckWait < 0 || cfg.DrainTimeout < 0 || cfg.Backoff.Initial < 0 || cfg.Backoff.Max < 0 {
		return nil, errors.New("poolgen: jetstream: negative Config value")
	}
	info := cons.CachedInfo()
	if info == nil {
		return nil, errors.New("poolgen: jetstream: consumer has no information")
	}
	if info.Config.AckPolicy != jetstream.AckExplicitPolicy {
		return nil, fmt.Errorf("poolgen: jetstream: consumer %q must acknowledge explicitly (AckExplicitPolicy), has %v", info.Name, info.Config.AckPolicy)
	}
	if info.Config.MaxDeliver > 0 {
		return nil, fmt.Errorf("poolgen: jetstream: consumer %q must have MaxDeliver -1 (unlimited), has %d: the source counts deliveries itself (Config.MaxDeliveries)", info.Name, info.Config.MaxDeliver)
	}
	if _, err := js.StreamNameBySubject(ctx, cfg.DeadLetter); err != nil {
		return nil, fmt.Errorf("poolgen: jetstream: no stream captures the dead-letter subject %q: %w", cfg.DeadLetter, err)
	}
	s := &Source[T]{
		js: js, cons: cons, pool: pool, codec: cfg.Codec,
		dead:          cfg.DeadLetter,
		maxDeliveries: uint64(cfg.MaxDeliveries),
		retryable:     cfg.Retryable,
		backoff:       cfg.Backoff,
		maxBatch:      cfg.MaxBatch,
		maxInFlight:   cfg.MaxInFlight,
		fetchWait:     cfg.FetchWait,
		ackWait:       cfg.AckWait,
		drainTimeout:  cfg.DrainTimeout,
		onError:       cfg.OnError,
		freed:         make(chan struct{}, 1),
		inflight:      make(map[*delivery]struct{}),
	}
	if s.codec == nil {
		s.codec = JSON[T]()
	}
	if s.maxDeliveries == 0 {
		s.maxDeliveries = 5
	}
	if s.retryable == nil {
		s.retryable = func(err error) bool { return !errors.Is(err, ErrPermanent) && !poolrt.IsPermanent(err) }
	}
	if s.backoff.Initial == 0 {
		s.backoff.Initial = time.Second
	}
	if s.backoff.Max == 0 {
		s.backoff.Max = time.Minute
	}
	s.backoff.Max = max(s.backoff.Max, s.backoff.Initial)
	if s.maxBatch == 0 {
		s.maxBatch = 64
	}
	if s.maxInFlight == 0 {
		st := pool.Stats()
		workers := st.Workers
		if st.Scaling != nil {
			workers = max(workers, st.Scaling.Max)
		}
		s.maxInFlight = max(st.QueueCap+workers, 1)
	}
	if s.fetchWait == 0 {
		s.fetchWait = time.Second
	}
	if s.ackWait == 0 {
		s.ackWait = info.Config.AckWait
	}
	if s.ackWait <= 0 {
		s.ackWait = 30 * time.Second // the server's default
	}
	if s.drainTimeout == 0 {
		s.drainTimeout = s.ackWait
	}
	return s, nil
}

// Stats returns a snapshot of the Source's counters.
func (s *Source[T]) Stats() Stats {
	return Stats{
		Fetched:      s.fetched.Load(),
		Acked:        s.acked.Load(),
		Retried:      s.retried.Load(),
		Returned:     s.returned.Load(),
		DeadLettered: s.deadLettered.Load(),
		DecodeErrors: s.decodeErrors.Load(),
		Heartbeats:   s.heartbeats.Load(),
		Errors:       s.ne.Load(),
		InFlight:     int(s.inFlight.Load()),
	}
}

// Run fetches messages and submits their tasks until ctx is done, then
// drains: it stops fetching, negatively acknowledges at once what the
// fetch under way still brings (so another consumer gets it without
// waiting for the ack wait), waits for the submitted tasks to finish, up
// to Config.DrainTimeout, and settles each by its outcome. It returns nil
// after a drain that ctx started; poolrt.ErrClosed once the pool was shut
// down; and the error that stopped it when its connection closed or its
// consumer was deleted (after a drain all the same, whose
// acknowledgements then fail: the server delivers those messages again
// after the ack wait). Run may be called once.
func (s *Source[T]) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("poolgen: jetstream: Run called twice")
	}
	// Tasks outlive ctx: a drain waits for them. taskCtx ends them only
	// once the drain has waited DrainTimeout.
	taskCtx, cancelTasks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelTasks()
	stopBeats := make(chan struct{})
	beatsDone := make(chan struct{})
	go s.heartbeat(stopBeats, beatsDone)

	err := s.fetchLoop(ctx, taskCtx)

	drained := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(drained)
	}()
	timer := time.NewTimer(s.drainTimeout)
	select {
	case <-drained:
	case <-timer.C:
		cancelTasks()
		<-drained
	}
	timer.Stop()
	close(stopBeats)
	<-beatsDone
	return err
}

// fetchLoop fetches against the pool's free room until ctx is done, the
// pool closes or the connection is lost.
func (s *Source[T]) fetchLoop(ctx, taskCtx context.Context) error {
	wait := time.NewTimer(0)
	defer wait.Stop()
	<-wait.C
	pause := func(d time.Duration) bool {
		wait.Reset(d)
		select {
		case <-ctx.Done():
			if !wait.Stop() {
				<-wait.C
			}
			return false
		case <-s.freed:
			if !wait.Stop() {
				<-wait.C
			}
		case <-wait.C:
		}
		return true
	}
	failures := 0
	for ctx.Err() == nil {
		if s.pool.Closed() {
			return poolrt.ErrClosed
		}
		if nc := s.js.Conn(); nc != nil && nc.IsClosed() {
			return fmt.Errorf("poolgen: jetstream: fetch: %w", nats.ErrConnectionClosed)
		}
		n := s.credit()
		if n <= 0 {
			if !pause(pollInterval) {
				return nil
			}
			continue
		}
		batch, err := s.cons.Fetch(n, jetstream.FetchMaxWait(s.fetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				s.take(ctx, taskCtx, msg)
			}
			err = batch.Error()
		}
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed) ||
			errors.Is(err, jetstream.ErrConsumerDeleted) {
			return fmt.Errorf("poolgen: jetstream: fetch: %w", err)
		}
		s.fail(fmt.Errorf("poolgen: jetstream: fetch: %w", err))
		// A transient failure (a leader election, a reconnect): retry
		// with a growing pause, at most FetchWait.
		failures++
		if !pause(min(s.fetchWait, 10*time.Millisecond<<min(failures, 10))) {
			return nil
		}
	}
	return nil
}

// credit is how many messages the Source may fetch now: the pool's free
// queue slots and idle workers, less the Source's own tasks that the pool
// does not show yet, within MaxInFlight and MaxBatch.
func (s *Source[T]) credit() int {
	st := s.pool.Stats()
	free := st.QueueCap - st.QueueDepth + st.Idle
	held := int(s.inFlight.Load())
	// Messages held but neither queued nor running are being submitted
	// (or settled): they will take room the snapshot shows as free.
	if unseen := held - (st.QueueDepth + st.Busy); unseen > 0 {
		free -= unseen
	}
	return min(free, s.maxInFlight-held, s.maxBatch)
}

// take starts the handling of a fetched message, or returns it at once
// while draining.
func (s *Source[T]) take(ctx, taskCtx context.Context, msg jetstream.Msg) {
	s.fetched.Add(1)
	if ctx.Err() != nil {
		s.returned.Add(1)
		s.settle(msg.Nak(), "nak")
		return
	}
	d := &delivery{msg: msg, last: time.Now()}
	s.mu.Lock()
	s.inflight[d] = struct{}{}
	s.mu.Unlock()
	s.inFlight.Add(1)
	s.wg.Add(1)
	go s.handle(taskCtx, d)
}

// handle decodes, submits and settles one message.
func (s *Source[T]) handle(ctx context.Context, d *delivery) {
	defer s.release(d)
	msg := d.msg
	md, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery: nothing to settle.
		s.fail(fmt.Errorf("poolgen: jetstream: %w", err))
		return
	}
	if md.NumDelivered > s.maxDeliveries {
		s.deadLetter(d, md, ReasonAttempts, ErrDeliveryLimit)
		return
	}
	var t T
	if err := s.decode(msg.Data(), &t); err != nil {
		if s.deadLetter(d, md, ReasonDecode, err) {
			s.decodeErrors.Add(1)
		}
		return
	}
	if ds, ok := any(&t).(DeliverySetter); ok {
		ds.SetDelivery(md.NumDelivered)
	} else if ds, ok := any(t).(DeliverySetter); ok {
		ds.SetDelivery(md.NumDelivered)
	}
	err = s.pool.SubmitWait(ctx, t)
	s.forget(d)
	switch {
	case err == nil:
		s.acked.Add(1)
		s.settle(msg.Ack(), "ack")
	case errors.Is(err, poolrt.ErrClosed) || (ctx.Err() != nil && errors.Is(err, ctx.Err())):
		// Not run (or abandoned by a drain that ran out of time): let
		// another consumer have it now.
		s.returned.Add(1)
		s.settle(msg.Nak(), "nak")
	case errors.Is(err, poolrt.ErrQueueFull):
		s.returned.Add(1)
		s.settle(msg.NakWithDelay(s.backoff.Initial), "nak")
	case !s.retryable(err):
		s.deadLetter(d, md, ReasonPermanent, err)
	case md.NumDelivered >= s.maxDeliveries:
		s.deadLetter(d, md, ReasonAttempts, err)
	default:
		s.retried.Add(1)
		s.settle(msg.NakWithDelay(s.delay(md.NumDelivered)), "nak")
	}
}

// decode decodes data into t, turning a panicking codec into an error.
func (s *Source[T]) decode(data []byte, t *T) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("poolgen: jetstream: decode panicked: %v", v)
		}
	}()
	return s.codec.Decode(data, t)
}

// delay is the backoff before delivery n+1, after n failed.
func (s *Source[T]) delay(n uint64) time.Duration {
	d := s.backoff.Max
	if n <= 1 {
		d = min(d, s.backoff.Initial)
	} else if shift := n - 1; shift < 32 {
		if x := s.backoff.Initial << shift; x > 0 && x < d {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// deadLetter publishes d's message to the dead-letter subject and terminates it,
// reporting whether it did. If the publish fails the message is retried
// later instead, so that it is not lost.
func (s *Source[T]) deadLetter(d *delivery, md *jetstream.MsgMetadata, reason string, cause error) bool {
	s.forget(d)
	msg := d.msg
	dl := nats.NewMsg(s.dead)
	dl.Data = msg.Data()
	for k, v := range msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			dl.Header[k] = v
		}
	}
	seq := strconv.FormatUint(md.Sequence.Stream, 10)
	dl.Header.Set(HeaderError, headerValue(cause.Error()))
	dl.Header.Set(HeaderReason, reason)
	dl.Header.Set(HeaderAttempts, strconv.FormatUint(md.NumDelivered, 10))
	dl.Header.Set(HeaderSubject, msg.Subject())
	dl.Header.Set(HeaderStream, md.Stream)
	dl.Header.Set(HeaderSequence, seq)
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	// The message ID makes a second publish of the same dead letter (its
	// term was lost and it came back) a duplicate the stream drops.
	if _, err := s.js.PublishMsg(ctx, dl, jetstream.WithMsgID(md.Stream+"."+seq)); err != nil {
		s.fail(fmt.Errorf("poolgen: jetstream: dead letter of %s #%s: %w", md.Stream, seq, err))
		s.retried.Add(1)
		s.settle(msg.NakWithDelay(s.delay(md.NumDelivered)), "nak")
		return false
	}
	s.deadLettered.Add(1)
	s.settle(msg.TermWithReason(reason), "term")
	return true
}

// headerValue makes s fit in one header line of a sensible length.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}

// settle counts a failed acknowledgement of some kind.
func (s *Source[T]) settle(err error, what string) {
	if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		s.fail(fmt.Errorf("poolgen: jetstream: %s: %w", what, err))
	}
}

// fail counts err and reports it.
func (s *Source[T]) fail(err error) {
	s.ne.Add(1)
	if s.onError != nil {
		s.onError(err)
	}
}

// forget stops the heartbeats of d.
func (s *Source[T]) forget(d *delivery) {
	s.mu.Lock()
	delete(s.inflight, d)
	s.mu.Unlock()
}

// release ends the handling of d.
func (s *Source[T]) release(d *delivery) {
	s.forget(d)
	s.inFlight.Add(-1)
	select {
	case s.freed <- struct{}{}:
	default:
	}
	s.wg.Done()
}

// heartbeat sends an in-progress acknowledgement for every message held
// for half the ack wait since it arrived or since its last heartbeat,
// until stop is closed.
func (s *Source[T]) heartbeat(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(max(s.ackWait/4, time.Millisecond))
	defer tick.Stop()
	var due []jetstream.Msg
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			due = due[:0]
			s.mu.Lock()
			for d := range s.inflight {
				if now.Sub(d.last) >= s.ackWait/2 {
					d.last = now
					due = append(due, d.msg)
				}
			}
			s.mu.Unlock()
			for _, m := range due {
				if err := m.InProgress(); err != nil {
					s.settle(err, "in progress")
				} else {
					s.heartbeats.Add(1)
				}
			}
		}
	}
}
