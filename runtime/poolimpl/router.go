package poolimpl

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
	"github.com/poolgen/poolgen/runtime/internal/registry"
)

// ClassPool is what a router asks of the pool of each of its classes: the
// methods every pool of poolgen has, whatever its pattern.
type ClassPool[T any] interface {
	Submit(ctx context.Context, t T) error
	TrySubmit(t T) error
	SubmitAfter(d time.Duration, t T) error
	SubmitAt(at time.Time, t T) error
	SubmitWait(ctx context.Context, t T) error
	Closed() bool
	Shutdown(ctx context.Context) error
	ShutdownNow() []T
	Stats() poolrt.Stats
}

// Resizable is a class pool whose worker limits a lending router moves:
// a dynamic pool.
type Resizable interface {
	SetLimits(min, max int) error
	Limits() (min, max int)
}

// Route is one class of a router and the pool that runs its tasks.
type Route[T any, C comparable] struct {
	Class   C
	Pool    ClassPool[T]
	Min     int  // workers the class keeps when it lends (Resizable pools)
	Default bool // the route for the classes no route names
}

// Router is the router's implementation (templates.Router documents it):
// it sends each task to the pool of its class, which the caller has
// computed, and shuts the pools down together. Routing is a map lookup;
// the pools do the rest. A Lender moves workers between the Resizable
// pools.
type Router[T any, C comparable] struct {
	index   map[C]int
	pools   []ClassPool[T]
	names   []string
	def     int // index of the default route, or -1
	closed  atomic.Bool
	unknown atomic.Uint64
	lend    *Lender // nil when the router does not lend
	nilable bool
	entry   *registry.Entry // the router's place in the registry; nil without a name
}

// Refuses reports whether t is a task the router refuses: a nil pointer.
// The router checks before it reads the task's class.
func (r *Router[T, C]) Refuses(t *T) bool { return r.nilable && IsNil(t) }

// Init validates routes and opts and sets the router up, starting its
// lender if it lends; it returns a *poolrt.ConfigError for a bad route or
// option. The router owns the routes' pools from then on: on an error it
// stops them with ShutdownNow.
func (r *Router[T, C]) Init(routes []Route[T, C], opts []poolrt.RouterOption) (err error) {
	defer func() {
		if err != nil {
			if r.entry != nil {
				registry.Remove(r.entry)
				r.entry = nil
			}
			for _, rt := range routes {
				if !noPool(rt.Pool) {
					rt.Pool.ShutdownNow()
				}
			}
		}
	}()
	set, err := config.ResolveRouter(opts)
	if err != nil {
		return err
	}
	if len(routes) == 0 {
		return &poolrt.ConfigError{Option: "routes", Reason: "a router needs at least one route"}
	}
	r.nilable = Nilable[T]()
	r.index = make(map[C]int, len(routes))
	r.def = -1
	seen := map[any]int{}
	var lent []lentClass
	for i, rt := range routes {
		name := fmt.Sprint(rt.Class)
		bad := func(reason string, args ...any) error {
			return &poolrt.ConfigError{Option: fmt.Sprintf("route %d (class %q)", i, name), Reason: fmt.Sprintf(reason, args...)}
		}
		if noPool(rt.Pool) {
			return bad("no pool")
		}
		if j, dup := r.index[rt.Class]; dup {
			return bad("route %d has the same class", j)
		}
		if reflect.TypeOf(rt.Pool).Comparable() {
			if j, dup := seen[rt.Pool]; dup {
				return bad("route %d has the same pool; each class needs a pool of its own", j)
			}
			seen[rt.Pool] = i
		}
		if rt.Pool.Closed() {
			return bad("its pool is shut down")
		}
		if rt.Default {
			if r.def >= 0 {
				return bad("route %d is the default route already; a router has at most one", r.def)
			}
			r.def = i
		}
		if rt.Min < 0 {
			return bad("Min is %d; it must be at least 0", rt.Min)
		}
		rs, resizable := rt.Pool.(Resizable)
		switch {
		case set.Budget > 0 && resizable:
			min, max := rs.Limits()
			if rt.Min > max {
				return bad("Min is %d, above the %d workers its pool can run", rt.Min, max)
			}
			lent = append(lent, lentClass{pool: rs, idx: i, floor: rt.Min, poolMin: min, cap: max, limit: max})
		case rt.Min > 0:
			return bad("Min applies only to a dynamic pool of a router that lends (poolrt.Lend)")
		}
		r.index[rt.Class] = i
		r.pools = append(r.pools, rt.Pool)
		r.names = append(r.names, name)
	}
	if set.Name != "" {
		e := &registry.Entry{Name: set.Name, Pattern: "router", Task: taskName[T](), Stats: r.Stats}
		if err := registry.Reserve(e); err != nil {
			return &poolrt.ConfigError{Option: fmt.Sprintf("RouterName(%q)", set.Name), Reason: err.Error()}
		}
		r.entry = e
	}
	if set.Budget > 0 {
		if len(lent) == 0 {
			return &poolrt.ConfigError{Option: fmt.Sprintf("Lend(%d)", set.Budget), Reason: "no route has a dynamic pool to lend workers to"}
		}
		need := 0
		for _, c := range lent {
			need += max(c.floor, 1)
		}
		if set.Budget < need {
			return &poolrt.ConfigError{Option: fmt.Sprintf("Lend(%d)", set.Budget),
				Reason: fmt.Sprintf("the lent classes keep %d workers (their Min, at least 1 each); the budget must be at least that", need)}
		}
		r.lend = newLender(set, lent, r.pools)
	}
	if r.entry != nil {
		registry.List(r.entry)
	}
	return nil
}

// noPool reports whether p is no pool: nil, or a nil pointer.
func noPool[T any](p ClassPool[T]) bool {
	if p == nil {
		return true
	}
	v := reflect.ValueOf(p)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// route returns the pool for class c.
func (r *Router[T, C]) route(c C) (ClassPool[T], error) {
	if r.closed.Load() {
		return nil, poolrt.ErrClosed
	}
	i, ok := r.index[c]
	if !ok {
		r.unknown.Add(1)
		if r.def < 0 {
			return nil, poolrt.ErrUnknownClass
		}
		i = r.def
	}
	return r.pools[i], nil
}

// Submit is the router's Submit of t, of class c.
func (r *Router[T, C]) Submit(ctx context.Context, c C, t T) error {
	p, err := r.route(c)
	if err != nil {
		return err
	}
	return p.Submit(ctx, t)
}

// TrySubmit is the router's TrySubmit of t, of class c.
func (r *Router[T, C]) TrySubmit(c C, t T) error {
	p, err := r.route(c)
	if err != nil {
		return err
	}
	return p.TrySubmit(t)
}

// SubmitAfter is the router's SubmitAfter of t, of class c: its class's
// pool schedules it, so that it is bounded by that pool's queue and, at
// Shutdown, canceled to that pool's dead-letter path.
func (r *Router[T, C]) SubmitAfter(d time.Duration, c C, t T) error {
	if r.closed.Load() {
		return poolrt.ErrClosed
	}
	p, err := r.route(c)
	if err != nil {
		return err
	}
	return p.SubmitAfter(d, t)
}

// SubmitAt is the router's SubmitAt of t, of class c.
func (r *Router[T, C]) SubmitAt(at time.Time, c C, t T) error {
	return r.SubmitAfter(time.Until(at), c, t)
}

// SubmitWait is the router's SubmitWait of t, of class c.
func (r *Router[T, C]) SubmitWait(ctx context.Context, c C, t T) error {
	p, err := r.route(c)
	if err != nil {
		return err
	}
	return p.SubmitWait(ctx, t)
}

// Closed is the router's Closed.
func (r *Router[T, C]) Closed() bool { return r.closed.Load() }

// Shutdown is the router's Shutdown: it stops intake and lending, then
// shuts every pool down, each with ctx, and returns the first error.
func (r *Router[T, C]) Shutdown(ctx context.Context) error {
	r.closed.Store(true)
	r.lend.stop()
	var errs []error
	for _, p := range r.pools {
		if err := p.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs[0] // still draining: the router stays listed until ShutdownNow
	}
	r.unlist()
	return nil
}

// unlist takes a named router off the registry.
func (r *Router[T, C]) unlist() {
	if r.entry != nil {
		registry.Remove(r.entry)
	}
}

// ShutdownNow is the router's ShutdownNow: every pool's unstarted tasks,
// in route order.
func (r *Router[T, C]) ShutdownNow() []T {
	r.closed.Store(true)
	r.lend.stop()
	var out []T
	for _, p := range r.pools {
		out = append(out, p.ShutdownNow()...)
	}
	r.unlist()
	return out
}

// Stats is the router's Stats: the sums of its classes' counters and
// gauges, with each class's own Stats in the Router section.
func (r *Router[T, C]) Stats() poolrt.Stats {
	rs := &poolrt.RouterStats{Unknown: r.unknown.Load(), Classes: make([]poolrt.ClassStats, len(r.pools))}
	for i, p := range r.pools {
		rs.Classes[i] = poolrt.ClassStats{Class: r.names[i], Default: i == r.def, Stats: p.Stats()}
	}
	r.lend.report(rs)
	s := SumStats(rs.Classes)
	s.Router = rs
	return s
}

// SumStats adds up the classes' counters and gauges. The total's Wait and
// Run come from the classes' merged Buckets: exact counts, maxima and
// means, and percentiles read off the factor-of-two classes (each the
// middle of its class), so within a factor of 1.5 of the true ones.
func SumStats(classes []poolrt.ClassStats) poolrt.Stats {
	var s poolrt.Stats
	var busyTime float64
	for i := range classes {
		c := &classes[i].Stats
		s.Workers += c.Workers
		s.Busy += c.Busy
		s.Idle += c.Idle
		s.QueueDepth += c.QueueDepth
		s.QueueCap += c.QueueCap
		s.Submitted += c.Submitted
		s.Rejected += c.Rejected
		s.CallerRuns += c.CallerRuns
		s.Completed += c.Completed
		s.Failed += c.Failed
		s.Panicked += c.Panicked
		s.TimedOut += c.TimedOut
		s.Returned += c.Returned
		s.Retries += c.Retries
		s.RetrySucceeded += c.RetrySucceeded
		s.DeadLettered += c.DeadLettered
		s.HookPanics += c.HookPanics
		s.Stuck += c.Stuck
		s.StuckTasks += c.StuckTasks
		s.Shed += c.Shed
		s.Shedding = s.Shedding || c.Shedding
		s.Paced += c.Paced
		if c.Breaker != nil {
			s.Breaker = addBreakers(s.Breaker, c.Breaker)
		}
		if r := c.Resources; r != nil {
			if s.Resources == nil {
				s.Resources = new(poolrt.ResourceStats)
			}
			s.Resources.Open += r.Open
			s.Resources.Unhealthy += r.Unhealthy
			s.Resources.Opened += r.Opened
			s.Resources.Closed += r.Closed
			s.Resources.Failed += r.Failed
		}
		if a := c.Affinity; a != nil {
			s.Affinity = addAffinity(s.Affinity, a)
		}
		if c.Scheduled != nil {
			s.Scheduled = AddScheduled(s.Scheduled, c.Scheduled)
		}
		s.Uptime = max(s.Uptime, c.Uptime)
		busyTime += c.Utilization * float64(c.Workers)
		addLatency(&s.Wait, &c.Wait)
		addLatency(&s.Run, &c.Run)
	}
	if s.Workers > 0 {
		s.Utilization = busyTime / float64(s.Workers)
	}
	summarize(&s.Wait, classes, func(c *poolrt.Stats) *poolrt.Latency { return &c.Wait })
	summarize(&s.Run, classes, func(c *poolrt.Stats) *poolrt.Latency { return &c.Run })
	return s
}

// addBreakers returns the breaker section of two classes' pools merged:
// the counts added up, the breakers listed (a class's "(pool)" breaker
// is listed once per class).
func addBreakers(a, b *poolrt.BreakerStats) *poolrt.BreakerStats {
	if a == nil {
		c := *b
		c.States = slices.Clone(b.States)
		return &c
	}
	a.Opens += b.Opens
	a.HalfOpens += b.HalfOpens
	a.Closes += b.Closes
	a.FailedFast += b.FailedFast
	a.Held += b.Held
	a.Holding += b.Holding
	a.Keys += b.Keys
	a.Open += b.Open
	a.HalfOpen += b.HalfOpen
	a.States = append(a.States, b.States...)
	return a
}

// addAffinity returns the affinity sections of two classes' pools
// merged: the workers and times added up, the CPUs and nodes those of
// the class spread widest (the classes share the process's mask), the
// per-slot times listed class after class.
func addAffinity(a, b *poolrt.AffinityStats) *poolrt.AffinityStats {
	if a == nil {
		a = new(poolrt.AffinityStats)
	}
	a.Pinned += b.Pinned
	a.CPUs = max(a.CPUs, b.CPUs)
	a.NUMANodes = max(a.NUMANodes, b.NUMANodes)
	a.PinFailed += b.PinFailed
	a.CPUTime += b.CPUTime
	a.PinnedTime += b.PinnedTime
	a.CPUUtilization = 0
	if a.PinnedTime > 0 {
		a.CPUUtilization = float64(a.CPUTime) / float64(a.PinnedTime)
	}
	a.WorkerCPU = append(a.WorkerCPU, b.WorkerCPU...)
	return a
}

// addLatency merges b's counts into a, keeping a's Mean as a running sum
// until summarize.
func addLatency(a, b *poolrt.Latency) {
	a.Count += b.Count
	a.Max = max(a.Max, b.Max)
	a.Mean += b.Mean * time.Duration(b.Count)
	for i, n := range b.Buckets {
		a.Buckets[i] += n
	}
}

// summarize turns addLatency's sums into a mean and percentiles: those
// of the one class with observations, if only one has any, else read off
// the merged Buckets.
func summarize(l *poolrt.Latency, classes []poolrt.ClassStats, of func(*poolrt.Stats) *poolrt.Latency) {
	var only *poolrt.Latency
	for i := range classes {
		if c := of(&classes[i].Stats); c.Count > 0 {
			if only != nil {
				only = nil
				break
			}
			only = c
		}
	}
	switch {
	case l.Count == 0:
		l.Mean = 0
		return
	case only != nil && only.Count == l.Count:
		*l = *only
		return
	}
	l.Mean /= time.Duration(l.Count)
	var n uint64
	for _, c := range l.Buckets {
		n += c
	}
	q := func(q float64) time.Duration {
		rank := min(max(uint64(q*float64(n)+0.999999), 1), n)
		var seen uint64
		for i, c := range l.Buckets {
			if seen += c; seen >= rank {
				mid := 512 * time.Nanosecond // the class under 1.024µs
				if i > 0 {
					mid = 1024 * time.Nanosecond << (i - 1) * 3 / 2
				}
				return min(mid, l.Max)
			}
		}
		return l.Max
	}
	if n > 0 {
		l.P50, l.P95, l.P99, l.P999 = q(0.50), q(0.95), q(0.99), q(0.999)
	}
}

// lentClass is a class whose pool's limits a Lender moves.
type lentClass struct {
	pool    Resizable
	idx     int // its route
	floor   int // Route.Min: workers it keeps
	poolMin int // the pool's own minimum at creation
	cap     int // the pool's maximum at creation: its worker slots
	limit   int // the maximum the lender gave it last
	want    int // scratch: workers it could use now
}

// Lender moves a shared worker budget between the dynamic pools of a
// router's classes. Every interval it measures each class's demand — its
// busy workers plus its queued tasks — and gives each class its floor
// (Route.Min, at least 1), then the rest of the budget to the classes
// whose demand is above their floor, up to their demand and their pool's
// maximum: all they ask when the budget covers it, else in proportion to
// what each asks beyond its floor, so that a class with ten times the
// backlog of another gets ten times the workers above the floors, and both
// backlogs drain at the same pace. What no class needs is spread one
// worker at a time round robin up to the pools' maxima, so that a class
// that wakes finds workers it can start at once. Each class's pool then scales
// within its new limits by its own controller. A class whose limit falls
// keeps the workers running tasks until each finishes its task, so for
// that long the classes may run more than the budget.
type Lender struct {
	budget   int
	interval time.Duration
	classes  []lentClass
	stats    []func() poolrt.Stats

	mu    sync.Mutex // guards classes' limits against report
	moves atomic.Uint64

	once sync.Once
	quit chan struct{}
	done chan struct{}
}

func newLender[T any](set config.RouterSettings, classes []lentClass, pools []ClassPool[T]) *Lender {
	l := &Lender{budget: set.Budget, interval: set.Interval, classes: classes,
		quit: make(chan struct{}), done: make(chan struct{})}
	for _, c := range classes {
		l.stats = append(l.stats, pools[c.idx].Stats)
	}
	l.rebalance(make([]int, len(classes))) // the budget holds from the start
	go l.run()
	return l
}

func (l *Lender) run() {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	demand := make([]int, len(l.classes))
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		}
		for i, stats := range l.stats {
			s := stats()
			demand[i] = s.Busy + s.QueueDepth
		}
		l.rebalance(demand)
	}
}

// rebalance shares the budget by demand (see Lender) and sets the limits
// that changed.
func (l *Lender) rebalance(demand []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	alloc := share(l.budget, l.classes, demand)
	for i := range l.classes {
		c := &l.classes[i]
		if alloc[i] == c.limit {
			continue
		}
		if err := c.pool.SetLimits(min(c.poolMin, alloc[i]), alloc[i]); err != nil {
			continue // shutting down (ErrClosed): the limits no longer matter
		}
		c.limit = alloc[i]
		l.moves.Add(1)
	}
}

// share divides budget between classes by demand, as Lender describes,
// and returns each class's new limit.
func share(budget int, classes []lentClass, demand []int) []int {
	alloc := make([]int, len(classes))
	left := budget
	for i := range classes {
		c := &classes[i]
		alloc[i] = min(max(c.floor, 1), c.cap)
		left -= alloc[i]
		c.want = min(max(demand[i], alloc[i]), c.cap)
	}
	left -= byDemand(alloc, classes, demand, left)
	// What no class needs now, round robin up to the caps.
	for left > 0 {
		gave := false
		for i := range classes {
			if left > 0 && alloc[i] < classes[i].cap {
				alloc[i]++
				left--
				gave = true
			}
		}
		if !gave {
			break
		}
	}
	return alloc
}

// byDemand gives up to left workers to the classes below their want:
// each all it wants if left covers them all, else shares in proportion to
// each class's demand beyond its floor, its backlog, uncapped: a class
// whose share is more than it can take (its want) gets its want, and the
// rest is shared again among the others. The last shares are rounded to
// whole workers by largest remainder (the lower route first among equal
// ones), so that the same demand always gives the same limits. It
// returns the workers it gave.
func byDemand(alloc []int, classes []lentClass, demand []int, left int) int {
	gave := 0
	active := make([]int, 0, len(classes))
	for i := range classes {
		if alloc[i] < classes[i].want {
			active = append(active, i)
		}
	}
	for len(active) > 0 && gave < left {
		room, weight := 0, int64(0)
		for _, i := range active {
			room += classes[i].want - alloc[i]
			weight += int64(demand[i] - alloc[i]) // > 0: demand >= want > alloc
		}
		rest := left - gave
		if room <= rest {
			for _, i := range active {
				alloc[i] = classes[i].want
			}
			return gave + room
		}
		// Classes whose share covers their room take their want; if any
		// did, share again what is left among the others.
		capped := false
		next := active[:0]
		for _, i := range active {
			r := int64(classes[i].want - alloc[i])
			if int64(rest)*int64(demand[i]-alloc[i]) >= r*weight {
				alloc[i] = classes[i].want
				gave += int(r)
				capped = true
				continue
			}
			next = append(next, i)
		}
		active = next
		if capped {
			continue
		}
		type frac struct {
			i   int
			rem int64
		}
		rems := make([]frac, 0, len(active))
		for _, i := range active {
			share := int64(rest) * int64(demand[i]-alloc[i])
			q := int(share / weight)
			alloc[i] += q
			gave += q
			rems = append(rems, frac{i, share % weight})
		}
		slices.SortStableFunc(rems, func(a, b frac) int { return cmp.Compare(b.rem, a.rem) })
		for _, r := range rems[:left-gave] {
			alloc[r.i]++
		}
		return left
	}
	return gave
}

// stop stops the lender and waits for it; a nil Lender does nothing.
func (l *Lender) stop() {
	if l == nil {
		return
	}
	l.once.Do(func() { close(l.quit) })
	<-l.done
}

// report fills in the lending figures of a router's Stats.
func (l *Lender) report(rs *poolrt.RouterStats) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rs.Budget = l.budget
	rs.Moves = l.moves.Load()
	for _, c := range l.classes {
		cs := &rs.Classes[c.idx]
		cs.Lent, cs.Min, cs.Limit = true, max(c.floor, 1), c.limit
	}
}
