package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// Torturer is a pool implementation the torture ([Torture]) can drive,
// whatever its task type. Make one with [Torturable].
type Torturer interface {
	tortureName() string
	// features returns the names of the optional features the pool
	// accepts, found by constructing it with each.
	features(t *testing.T) []string
	// life builds one pool with features picked by rng among those the
	// pool accepts, drives it through up to ops operations ending in a
	// shutdown that races its submitters, tears it down and checks every
	// task's outcome and the pool's counters against the torture's own
	// tallies, which it adds to tally. It returns the operations done.
	life(t *testing.T, rng *rand.Rand, ops int, accepted []string, tally *TortureTally) int
}

// Torturable returns impl as a [Torturer].
func Torturable[T any](impl Impl[T]) Torturer {
	if impl.Pattern == 0 {
		impl.Pattern = Fixed
	}
	return &torturer[T]{suite: suite[T]{Impl: impl.withOptions()}}
}

// TortureTally sums what the torture did and saw over a pattern's pools.
type TortureTally struct {
	Ops, Pools, Accepted, Refused          uint64
	Succeeded, Failed, Panicked, Returned  uint64
	DeadLettered, Retries, Shed, Rejected  uint64
	HookPanics, BreakerOpens, FailedFast   uint64
	Held, StuckTasks, TimedOut, CallerRuns uint64
	// Features counts the pools built with each optional feature.
	Features map[string]int
}

func (s *TortureTally) String() string {
	keys := make([]string, 0, len(s.Features))
	for k := range s.Features {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var f strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&f, " %s:%d", k, s.Features[k])
	}
	return fmt.Sprintf("ops=%d pools=%d accepted=%d refused=%d succeeded=%d failed=%d panicked=%d returned=%d "+
		"deadLettered=%d retries=%d shed=%d rejected=%d hookPanics=%d breakerOpens=%d failedFast=%d held=%d "+
		"stuck=%d timedOut=%d callerRuns=%d features:%s",
		s.Ops, s.Pools, s.Accepted, s.Refused, s.Succeeded, s.Failed, s.Panicked, s.Returned,
		s.DeadLettered, s.Retries, s.Shed, s.Rejected, s.HookPanics, s.BreakerOpens, s.FailedFast, s.Held,
		s.StuckTasks, s.TimedOut, s.CallerRuns, f.String())
}

// Torture drives the pools of one pattern (rows: its implementations,
// generic and generated, each pool built from one of them at random)
// through at least ops operations (submissions and shutdowns), seeded by
// seed, building and tearing down pool after pool. Each pool gets a
// random mix of the optional features it accepts (retries, dead letters,
// per-task timeouts, circuit breakers keyed or not, holding or not, load
// shedding, a watchdog, context propagation, the backpressure policies),
// asked of the pool by constructing it: a feature a pattern refuses
// with a [*poolrt.ConfigError] is left out, so a pattern that learns a
// feature is tortured with it without an edit here. Tasks succeed, fail
// (retryable or permanent, or on their first attempt only), panic, or
// run until their timeout; hooks panic now and then. Submitters race
// Submit, TrySubmit and SubmitWait (with contexts canceled at random)
// against Shutdown or ShutdownNow.
//
// Every task has an id of its own. The torture checks that every accepted
// task ended exactly once (ran to success, panicked, failed to a hook or
// to its waiting submitter, was dead-lettered, or was handed back by
// ShutdownNow), that no refused task ended, that the pool's Stats
// counters match the torture's tallies, that the accounting identity
// holds. On failure it names the seed; the test that calls Torture
// should let it be set (a flag or an environment variable) to reproduce a
// run, and check with goleak that no goroutine outlives the pools (it
// may run the patterns' tortures in parallel, then check once). The pools
// log through log/slog: every breaker change, hook panic and shedding
// episode; the caller may want to silence it.
func Torture(t *testing.T, seed uint64, ops int, rows ...Torturer) TortureTally {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("conformance: Torture needs rows")
	}
	tally := TortureTally{Features: map[string]int{}}
	defer func() {
		if t.Failed() {
			t.Logf("torture failed with seed %d", seed)
		}
	}()
	accepted := make([][]string, len(rows))
	for i, r := range rows {
		accepted[i] = r.features(t)
	}
	rng := rand.New(rand.NewPCG(seed, 0x70727475))
	for done := 0; done < ops && !t.Failed(); {
		i := rng.IntN(len(rows))
		// Lives of a few hundred to a few thousand operations: many
		// pools, each with time to fill its queue and trip its breakers.
		n := min(100+rng.IntN(3000), max(ops-done, 1))
		done += rows[i].life(t, rng, n, accepted[i], &tally)
	}
	return tally
}

// torturer is a Torturer over Impl[T].
type torturer[T any] struct {
	suite suite[T]
}

func (tr *torturer[T]) tortureName() string { return tr.suite.Name }

// The optional features of a tortured pool. Each is tried alone on a pool
// of the row to see whether the pattern takes it.
var tortureFeatures = []string{
	"Retry", "OnDeadLetter", "Breaker", "BreakerKey", "BreakerHold", "Shed",
	"TaskTimeout", "Watchdog", "PropagateContext", "PropagateDeadline", "Reject", "CallerRuns",
	"Scaling", "ScaleWith",
}

func (tr *torturer[T]) features(t *testing.T) []string {
	t.Helper()
	var out []string
	l := &tortureLife[T]{s: &tr.suite}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range tortureFeatures {
		opts := append(tr.suite.workerOpts(1), l.feature(f, rng)...)
		p, err := tr.suite.New(opts...)
		var ce *poolrt.ConfigError
		switch {
		case errors.As(err, &ce):
			continue
		case err != nil:
			t.Fatalf("%s: New with %s: %v, not a *poolrt.ConfigError", tr.suite.Name, f, err)
		case p == nil:
			t.Fatalf("%s: New with %s returned no pool and no error", tr.suite.Name, f)
		}
		p.ShutdownNow()
		out = append(out, f)
	}
	t.Logf("%s takes %v", tr.suite.Name, out)
	return out
}

// The behaviors of tortured tasks.
const (
	tSucceed = iota
	tFail
	tPermanent
	tFlaky // fails on its first attempt, succeeds on the others
	tPanic
	tSlow // runs until its timeout, or succeeds after a while
)

// tortureErr is a tortured task's own error: the one that is final
// reaches a hook or its waiting submitter, which tells the task by it.
type tortureErr struct {
	id  int
	err error // the context's error of a timed-out task, or nil
}

func (e *tortureErr) Error() string { return fmt.Sprintf("task %d failed (%v)", e.id, e.err) }
func (e *tortureErr) Unwrap() error { return e.err }

// How a submission ended, for the check of its task's outcome.
const (
	subAccepted = iota + 1 // must end exactly once
	subRefused             // must never end
	subUnknown             // ends at most once (an abandoned SubmitWait, or one handed back)
)

// tortureKey is the key of the context value tasks check under context
// propagation.
type tortureKey struct{}

// tortureLife is the state of one pool's life.
type tortureLife[T any] struct {
	s      *suite[T]
	t      *testing.T
	ctl    *probe.Control
	seed   uint64
	dead   bool // OnDeadLetter set: every final failure goes there
	values bool // context propagation: tasks see the submitter's values

	ends     []atomic.Int32 // outcomes per task id
	sub      []uint8        // how each submission ended (written by its submitter)
	valued   []bool         // the task was submitted with a context value
	behavior []uint8
	// waitedErr marks the tasks whose failure their submitter had in a
	// pool with a dead-letter handler.
	waitedErr []bool

	successes, panics, errFinals, errRuns atomic.Uint64
	deadLetters, returned, injected       atomic.Uint64
	shed, full                            atomic.Uint64
	tick                                  atomic.Uint64 // for hooks that panic now and then
}

// hookPanic panics, counting it, once in every 16 calls of the hooks that
// have no task id.
func (l *tortureLife[T]) hookPanic(site string) {
	if l.tick.Add(1)%16 == 0 {
		l.injected.Add(1)
		panic("torture: " + site + " panics")
	}
}

// idPanic panics, counting it, for one task id in 16 (hashed with the
// life's seed and the site).
func (l *tortureLife[T]) idPanic(site string, id int) {
	h := l.seed ^ uint64(id)*0x9e3779b97f4a7c15 ^ uint64(len(site))*0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	if h>>60 == 0 {
		l.injected.Add(1)
		panic("torture: " + site + " panics")
	}
}

// end records one outcome of task id.
func (l *tortureLife[T]) end(id int) { l.ends[id].Add(1) }

// errorEnd records the final failure of task id, as a hook or its
// submitter had it.
func (l *tortureLife[T]) errorEnd(id int) {
	l.errFinals.Add(1)
	l.end(id)
}

// taskID returns the id of the task whose error is err, or -1.
func taskID(err error) int {
	var te *tortureErr
	if errors.As(err, &te) {
		return te.id
	}
	return -1
}

// feature returns the options of feature f, their hooks bound to l.
func (l *tortureLife[T]) feature(f string, rng *rand.Rand) []poolrt.Option {
	us := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Microsecond }
	breaker := func(hold bool) poolrt.BreakerPolicy {
		p := poolrt.BreakerPolicy{
			Cooldown: us(50, 500),
			Probes:   1 + rng.IntN(2),
			Hold:     hold,
			IsFailure: func(err error) bool {
				l.hookPanic("IsFailure")
				return true
			},
			OnStateChange: func(any, poolrt.BreakerState, poolrt.BreakerState) { l.hookPanic("OnStateChange") },
		}
		if rng.IntN(2) == 0 {
			p.Failures = 2 + rng.IntN(6)
		} else {
			p.FailureRate, p.MinRequests, p.Window = 0.3+0.5*rng.Float64(), 5+rng.IntN(10), us(1000, 5000)
		}
		if hold {
			p.MaxHeld = 1 + rng.IntN(64)
		}
		return p
	}
	switch f {
	case "Retry":
		return []poolrt.Option{poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2 + rng.IntN(3), Initial: us(5, 50), Max: us(50, 200)})}
	case "OnDeadLetter":
		return []poolrt.Option{poolrt.OnDeadLetter(func(task T, err error, attempts int) {
			id := l.s.ID(task)
			l.deadLetters.Add(1)
			l.errorEnd(id)
			l.idPanic("OnDeadLetter", id)
		})}
	case "Breaker":
		return []poolrt.Option{poolrt.Breaker(breaker(false))}
	case "BreakerKey":
		return []poolrt.Option{poolrt.Breaker(breaker(false)), poolrt.BreakerKey(func(task T) int {
			l.hookPanic("BreakerKey")
			return l.s.ID(task) % 3
		})}
	case "BreakerHold":
		return []poolrt.Option{poolrt.Breaker(breaker(true))}
	case "Shed":
		return []poolrt.Option{poolrt.Shed(poolrt.ShedPolicy{Target: us(20, 200), Interval: us(300, 1000)}), poolrt.LatencySampling(1 + rng.IntN(4))}
	case "TaskTimeout":
		return []poolrt.Option{poolrt.TaskTimeout(us(20, 150))}
	case "Watchdog":
		return []poolrt.Option{poolrt.Watchdog(time.Millisecond, func(poolrt.StuckTask) { l.hookPanic("Watchdog") })}
	case "PropagateContext":
		return []poolrt.Option{poolrt.PropagateContext()}
	case "PropagateDeadline":
		return []poolrt.Option{poolrt.PropagateDeadline()}
	case "Reject":
		return []poolrt.Option{poolrt.OnFull(poolrt.Reject)}
	case "CallerRuns":
		return []poolrt.Option{poolrt.OnFull(poolrt.CallerRuns)}
	case "Scaling", "ScaleWith":
		// Scaling between the limits, down to no worker at all, at the
		// shortest interval.
		opts := []poolrt.Option{
			poolrt.WorkerLimits(rng.IntN(2), 1+rng.IntN(4)), poolrt.ScaleInterval(time.Millisecond),
			poolrt.Cooldown(us(0, 1000)), poolrt.IdleTimeout(us(0, 1000)),
		}
		if f == "ScaleWith" {
			opts = append(opts, poolrt.ScaleWith(tortureScaler{l.hookPanic, rand.New(rand.NewPCG(rng.Uint64(), 0))}))
		}
		return opts
	}
	panic("torture: unknown feature " + f)
}

// tortureScaler is a scaling policy that picks sizes at random and
// panics now and then.
type tortureScaler struct {
	panics func(site string)
	rng    *rand.Rand // used by the pool's controller goroutine only
}

func (p tortureScaler) Scale(s poolrt.ScaleSignals) (int, string) {
	p.panics("ScaleWith")
	return s.Min + p.rng.IntN(s.Max-s.Min+1), "torture"
}

// body returns what task id does when it runs.
func (l *tortureLife[T]) body(id int) probe.Func {
	b := l.behavior[id]
	return func(ctx context.Context) error {
		if l.values && l.valued[id] {
			if v, _ := ctx.Value(tortureKey{}).(int); v != id {
				l.t.Errorf("%s: task %d sees context value %v, not its submitter's", l.s.Name, id, ctx.Value(tortureKey{}))
			}
		}
		switch b {
		case tFail:
			l.errRuns.Add(1)
			return &tortureErr{id: id}
		case tPermanent:
			l.errRuns.Add(1)
			return poolrt.Permanent(&tortureErr{id: id})
		case tFlaky:
			if poolrt.Attempt(ctx) == 1 {
				l.errRuns.Add(1)
				return &tortureErr{id: id}
			}
		case tPanic:
			l.panics.Add(1)
			l.end(id)
			panic(&tortureErr{id: id})
		case tSlow:
			tm := time.NewTimer(200 * time.Microsecond)
			defer tm.Stop()
			select {
			case <-ctx.Done():
				l.errRuns.Add(1)
				return &tortureErr{id: id, err: ctx.Err()}
			case <-tm.C:
			}
		}
		l.successes.Add(1)
		l.end(id)
		return nil
	}
}

func (tr *torturer[T]) life(t *testing.T, rng *rand.Rand, n int, accepted []string, tally *TortureTally) int {
	t.Helper()
	s := &tr.suite
	l := &tortureLife[T]{
		s: s, t: t, seed: rng.Uint64(),
		ends: make([]atomic.Int32, n), sub: make([]uint8, n), valued: make([]bool, n), behavior: make([]uint8, n), waitedErr: make([]bool, n),
	}
	// Features: each the pool takes, with probability one half.
	workers := 1 + rng.IntN(4)
	opts := append(s.workerOpts(workers),
		poolrt.QueueSize(workers+rng.IntN(64)),
		poolrt.OnTaskError(func(task T, err error) {
			id := s.ID(task)
			if tid := taskID(err); tid != id && !errors.Is(err, poolrt.ErrCircuitOpen) {
				t.Errorf("%s: OnTaskError(task %d) got %v", s.Name, id, err)
			}
			l.errorEnd(id)
			l.idPanic("OnTaskError", id)
		}),
		poolrt.OnTaskPanic(func(task T, p *poolrt.PanicError) { l.idPanic("OnTaskPanic", s.ID(task)) }),
	)
	var on []string
	for _, f := range accepted {
		if rng.IntN(2) == 0 {
			on = append(on, f)
		}
	}
	// Breaker variants and backpressure policies exclude each other.
	exclusive := func(a, b string) {
		if slices.Contains(on, a) && slices.Contains(on, b) {
			drop := a
			if rng.IntN(2) == 0 {
				drop = b
			}
			on = slices.DeleteFunc(on, func(s string) bool { return s == drop })
		}
	}
	exclusive("Breaker", "BreakerKey")
	exclusive("Breaker", "BreakerHold")
	exclusive("BreakerKey", "BreakerHold")
	exclusive("Reject", "CallerRuns")
	exclusive("PropagateContext", "PropagateDeadline")
	exclusive("Scaling", "ScaleWith")
	for _, f := range on {
		opts = append(opts, l.feature(f, rng)...)
		switch f {
		case "OnDeadLetter":
			l.dead = true
		case "PropagateContext", "PropagateDeadline":
			l.values = true
		}
	}
	p, err := s.New(opts...)
	if err != nil {
		var ce *poolrt.ConfigError
		if errors.As(err, &ce) {
			// Features a pattern takes alone may not go together: try
			// another mix.
			t.Logf("%s refuses %v together: %v", s.Name, on, err)
			return 1
		}
		t.Fatalf("%s: New(%v): %v", s.Name, on, err)
	}
	tally.Pools++
	for _, f := range on {
		tally.Features[f]++
	}

	l.ctl = probe.New(n)
	for id := range n {
		l.behavior[id] = uint8(tortureBehavior(rng))
		l.ctl.SetFunc(id, l.body(id))
	}
	submitters := 1 + rng.IntN(8)
	shutAt := int64(n/2 + rng.IntN(n/2+1))
	var next atomic.Int64
	shut := make(chan struct{})
	var wg sync.WaitGroup
	for range submitters {
		srng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		wg.Go(func() {
			for {
				id := int(next.Add(1) - 1)
				if id >= n {
					return
				}
				if int64(id) == shutAt {
					close(shut)
				}
				l.submit(p, srng, id)
			}
		})
	}
	if shutAt >= int64(n) {
		close(shut)
	}
	<-shut
	// The shutdown races the submitters still going.
	switch k := rng.IntN(3); k {
	case 0:
		for _, task := range p.ShutdownNow() {
			l.returned.Add(1)
			l.end(s.ID(task))
		}
	default:
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(500*k))*time.Microsecond)
		err := p.Shutdown(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: Shutdown: %v", s.Name, err)
			}
			for _, task := range p.ShutdownNow() {
				l.returned.Add(1)
				l.end(s.ID(task))
			}
		}
	}
	wg.Wait()
	if extra := p.ShutdownNow(); len(extra) != 0 {
		t.Errorf("%s: a second ShutdownNow returned %d tasks", s.Name, len(extra))
	}
	l.check(p.Stats(), tally)
	tally.Ops += uint64(n) + 1
	return n + 1
}

// tortureBehavior picks a task's behavior: mostly successes.
func tortureBehavior(rng *rand.Rand) int {
	switch k := rng.IntN(100); {
	case k < 60:
		return tSucceed
	case k < 75:
		return tFail
	case k < 79:
		return tPermanent
	case k < 89:
		return tFlaky
	case k < 98:
		return tPanic
	default:
		return tSlow
	}
}

// submit submits task id, one of Submit, TrySubmit and SubmitWait, with
// a context that is sometimes canceled, and records what it learned of
// the task's acceptance.
func (l *tortureLife[T]) submit(p Pool[T], rng *rand.Rand, id int) {
	task := l.s.Task(l.ctl, id)
	kind := rng.IntN(10)
	if kind < 3 { // TrySubmit: no context
		l.sub[id] = l.refusal(p.TrySubmit(task), subAccepted)
		return
	}
	ctx := context.Background()
	if l.values {
		ctx = context.WithValue(ctx, tortureKey{}, id)
		l.valued[id] = true
	}
	switch rng.IntN(20) {
	case 0:
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		cancel()
	case 1, 2:
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(300))*time.Microsecond)
		defer cancel()
	}
	if kind < 7 {
		err := p.Submit(ctx, task)
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			l.sub[id] = subRefused
			return
		}
		l.sub[id] = l.refusal(err, subAccepted)
		return
	}
	err := p.SubmitWait(ctx, task)
	switch {
	case err == nil:
		l.sub[id] = subAccepted
	case errors.As(err, new(*poolrt.PanicError)):
		l.sub[id] = subAccepted // its panic is counted where it happened
	case taskID(err) >= 0 || errors.Is(err, poolrt.ErrCircuitOpen):
		if tid := taskID(err); tid >= 0 && tid != id {
			l.t.Errorf("%s: SubmitWait(task %d) returned %v", l.s.Name, id, err)
		}
		l.sub[id] = subAccepted
		if !l.dead {
			l.errorEnd(id)
		} else {
			// A dead-letter handler has every failure a worker ends,
			// waited or not; the submitter alone has that of a task it
			// ran itself (CallerRuns). Which it was shows once the pool
			// has stopped (see check).
			l.waitedErr[id] = true
		}
	case errors.Is(err, poolrt.ErrClosed):
		l.sub[id] = subUnknown // refused, or handed back by ShutdownNow
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		l.sub[id] = subUnknown // abandoned: accepted or not
	default:
		l.sub[id] = l.refusal(err, subAccepted)
	}
}

// refusal returns how a submission that returned err ended (ok if err is
// nil), counting the refusals the pool counts too.
func (l *tortureLife[T]) refusal(err error, ok uint8) uint8 {
	switch {
	case err == nil:
		return ok
	case errors.Is(err, poolrt.ErrOverloaded):
		l.shed.Add(1)
	case errors.Is(err, poolrt.ErrQueueFull):
		l.full.Add(1)
	case errors.Is(err, poolrt.ErrClosed):
	default:
		l.t.Errorf("%s: a submission returned %v", l.s.Name, err)
	}
	return subRefused
}

// check checks, once the pool has stopped, every task's outcome and the
// pool's counters against the tallies, and adds them to tally.
func (l *tortureLife[T]) check(st poolrt.Stats, tally *TortureTally) {
	t, name := l.t, l.s.Name
	t.Helper()
	for id, w := range l.waitedErr {
		if w && l.ends[id].Load() == 0 {
			l.errorEnd(id) // it ran on its submitter, who had its outcome
		}
	}
	var ended uint64
	bad := 0
	for id := range l.ends {
		e := l.ends[id].Load()
		ended += uint64(e)
		ok := e <= 1
		switch l.sub[id] {
		case subAccepted:
			ok = e == 1
		case subRefused:
			ok = e == 0
		}
		if !ok {
			if bad++; bad <= 10 {
				t.Errorf("%s: task %d (behavior %d, submission %d) ended %d times", name, id, l.behavior[id], l.sub[id], e)
			}
		}
	}
	eq := func(what string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s = %d, the torture counted %d; Stats: %+v", name, what, got, want, st)
		}
	}
	var failedFast, opens, held uint64
	if b := st.Breaker; b != nil {
		failedFast, opens, held = b.FailedFast, b.Opens, b.Held
	}
	eq("Submitted", st.Submitted, ended)
	eq("Completed+Panicked+DeadLettered+Returned", st.Completed+st.Panicked+st.DeadLettered+st.Returned, st.Submitted)
	eq("Completed-Failed", st.Completed-st.Failed, l.successes.Load())
	eq("Failed+DeadLettered", st.Failed+st.DeadLettered, l.errFinals.Load())
	eq("Panicked", st.Panicked, l.panics.Load())
	eq("Returned", st.Returned, l.returned.Load())
	eq("Retries+Failed+DeadLettered-FailedFast", st.Retries+st.Failed+st.DeadLettered-failedFast, l.errRuns.Load())
	eq("HookPanics", st.HookPanics, l.injected.Load())
	eq("Shed", st.Shed, l.shed.Load())
	eq("Rejected", st.Rejected, l.full.Load())
	if l.dead {
		eq("DeadLettered", st.DeadLettered, l.deadLetters.Load())
	}

	tally.Accepted += st.Submitted
	tally.Refused += uint64(len(l.ends)) - st.Submitted
	tally.Succeeded += l.successes.Load()
	tally.Failed += st.Failed
	tally.Panicked += st.Panicked
	tally.Returned += st.Returned
	tally.DeadLettered += st.DeadLettered
	tally.Retries += st.Retries
	tally.Shed += st.Shed
	tally.Rejected += st.Rejected
	tally.HookPanics += st.HookPanics
	tally.BreakerOpens += opens
	tally.FailedFast += failedFast
	tally.Held += held
	tally.StuckTasks += st.StuckTasks
	tally.TimedOut += st.TimedOut
	tally.CallerRuns += st.CallerRuns
}
