package poolrt

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// ErrUnknownClass is returned by a router's Submit, TrySubmit and
// SubmitWait for a task whose class no route names, when the router has
// no default route: the task was not accepted.
var ErrUnknownClass = errors.New("poolgen: no route for the task's class")

// RouterOption configures a router: its lending of workers between its
// classes ([Lend], [LendEvery]) and its name ([RouterName]). A bad one is
// a *ConfigError from the router's constructor. It prints as written in
// code, for example "Lend(16)".
type RouterOption = config.RouterOption

// DefaultLendInterval is how often a lending router rebalances unless
// [LendEvery] says otherwise.
const DefaultLendInterval = config.DefaultLendInterval

// Lend makes the router lend workers between the classes whose pools are
// dynamic (they have SetLimits): together they run at most budget
// workers; each keeps at least its route's Min and at most the maximum its
// pool was created with, and every interval the router gives the workers
// that idle classes do not use to the classes with work waiting; when
// those want more than the budget holds, it shares the workers above
// their Mins in proportion to their backlogs (busy workers plus queued
// tasks). Classes with other pools keep their own workers, outside the
// budget.
func Lend(budget int) RouterOption {
	return config.NewRouterOption("Lend("+strconv.Itoa(budget)+")", func(s *config.RouterSettings) string {
		if budget < 1 {
			return "the budget must be at least 1 worker"
		}
		s.Budget = budget
		return ""
	})
}

// LendEvery sets how often a lending router measures its classes and
// moves workers (default [DefaultLendInterval]).
func LendEvery(d time.Duration) RouterOption {
	return config.NewRouterOption("LendEvery("+d.String()+")", func(s *config.RouterSettings) string {
		if d < time.Millisecond {
			return "the interval must be at least 1ms"
		}
		s.Interval = d
		return ""
	})
}

// RouterName names the router as [Name] names a pool: the router is
// listed by package poolmon (the live page, the history, alerts) and
// exported by the collectors built on it with pattern "router", its
// Stats the sums of its classes' with the Router section. Its classes'
// pools are listed only if they have names of their own; a dashboard
// that sums every pool should then leave the router out (its totals count
// those pools' tasks again). The name follows Name's rules and is unique
// among running pools and routers: a router constructor given a name in
// use returns a [*ConfigError]. The router leaves the list when its
// Shutdown returns nil or its ShutdownNow returns.
func RouterName(name string) RouterOption {
	return config.NewRouterOption(fmt.Sprintf("RouterName(%q)", name), func(s *config.RouterSettings) string {
		if reason := badName(name); reason != "" {
			return reason
		}
		s.Name = name
		return ""
	})
}

// RouterStats is the section of a router's Stats: one entry per route, in
// the order the routes were given. The router's own counters and gauges
// are the sums of its classes'.
type RouterStats struct {
	Classes []ClassStats
	// Unknown counts the submissions whose class no route names: sent to
	// the default route, or refused with ErrUnknownClass when there is
	// none (those are in no class's Stats).
	Unknown uint64
	// Budget is the number of workers lent between the dynamic classes
	// (Lend); 0 when the router does not lend.
	Budget int
	// Moves counts the changes of a class's worker limit by lending.
	Moves uint64
}

// ClassStats is one class of a router.
type ClassStats struct {
	Class   string // the class, as fmt.Sprint prints it
	Default bool   // the route for classes no route names
	// Lent says that the class's pool takes part in lending; Min is the
	// workers it keeps whatever the others need, Limit its current
	// maximum.
	Lent       bool
	Min, Limit int
	Stats      Stats // the class's pool
}

// String summarizes the section as [Stats.String] prints it: a line per
// class with its workers, queue, completed tasks and queue wait.
func (s RouterStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *RouterStats) write(t *statsText) {
	head := []string{strconv.Itoa(len(s.Classes)) + " classes", "unknown " + u64(s.Unknown)}
	if s.Budget > 0 {
		head = append(head, "lending "+strconv.Itoa(s.Budget)+" workers", "moves "+u64(s.Moves))
	}
	t.line("router", head...)
	for _, c := range s.Classes {
		name := "class " + strconv.Quote(c.Class)
		if c.Default {
			name += " (default)"
		}
		workers := "workers " + strconv.Itoa(c.Stats.Workers) + " (busy " + strconv.Itoa(c.Stats.Busy) + ")"
		if c.Lent {
			workers += " of " + strconv.Itoa(c.Min) + ".." + strconv.Itoa(c.Limit)
		}
		items := []string{name, workers, "queue " + strconv.Itoa(c.Stats.QueueDepth),
			"completed " + u64(c.Stats.Completed)}
		items = append(items, prefixed("wait ", latencyItems(c.Stats.Wait, false, "none sampled"))...)
		t.line("", items...)
	}
}

func prefixed(p string, items []string) []string {
	if len(items) > 0 {
		items[0] = p + items[0]
	}
	return items
}

func (s *RouterStats) logValue() slog.Value {
	attrs := []slog.Attr{slog.Uint64("unknown", s.Unknown), slog.Int("budget", s.Budget), slog.Uint64("moves", s.Moves)}
	for _, c := range s.Classes {
		attrs = append(attrs, slog.Attr{Key: c.Class, Value: slog.GroupValue(
			slog.Int("workers", c.Stats.Workers),
			slog.Int("queue_depth", c.Stats.QueueDepth),
			slog.Int("limit", c.Limit),
			slog.Uint64("completed", c.Stats.Completed),
			slog.Duration("wait_p99", c.Stats.Wait.P99),
		)})
	}
	return slog.GroupValue(attrs...)
}
