package conformance_test

import (
	"slices"
	"testing"
	"time"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The priority pattern's pools run the whole suite. The suite's tasks all
// have the same rank (zero priority, no deadline, zero cost), and the
// pools keep submission order among equal ranks, so the FIFO expectations
// hold and Reorders stays false. Rows with aging check that aging keeps
// that order too (equal priorities age alike). The ordering itself is
// tested by conformance.RunRank over the same pools, with ranked tasks.

// rankFlavor is one flavor of the three priority pools, generic or
// generated, with their constructors adapted to the suite's shape.
type rankFlavor[T any] struct {
	prefix                   string // "templates." or "generated.Probe"
	priority, deadline, cost func(opts ...poolrt.Option) (conformance.Pool[T], error)
}

// rankFlavors lists the generic pools over T and the generated ones.
func rankFlavors[T interface {
	templates.PriorityTask
	templates.DeadlineTask
	templates.CostTask
}](generatedPrefix string, gen rankFlavor[T]) []rankFlavor[T] {
	gen.prefix = generatedPrefix
	return []rankFlavor[T]{
		{
			prefix:   "templates.",
			priority: conformance.Adapt(templates.NewPriorityPool[T]),
			deadline: conformance.Adapt(func(opts ...poolrt.Option) (*templates.DeadlinePool[T], error) {
				return templates.NewDeadlinePool[T](nil, opts...)
			}),
			cost: conformance.Adapt(templates.NewCostPool[T]),
		},
		{
			// The Func pools, given functions that read what a tagged
			// field would hold.
			prefix: "templates.Func/",
			priority: conformance.Adapt(func(opts ...poolrt.Option) (*templates.PriorityFuncPool[T], error) {
				return templates.NewPriorityFuncPool(func(t T) int64 { return t.Priority() }, opts...)
			}),
			deadline: conformance.Adapt(func(opts ...poolrt.Option) (*templates.DeadlineFuncPool[T], error) {
				return templates.NewDeadlineFuncPool(func(t T) time.Time { return t.Deadline() }, nil, opts...)
			}),
			cost: conformance.Adapt(func(opts ...poolrt.Option) (*templates.CostFuncPool[T], error) {
				return templates.NewCostFuncPool(func(t T) int64 { return t.Cost() }, opts...)
			}),
		},
		gen,
	}
}

func probeFlavors() []rankFlavor[generated.Probe] {
	return rankFlavors("generated.Probe", rankFlavor[generated.Probe]{
		priority: conformance.Adapt(generated.NewProbePriorityPool),
		deadline: conformance.Adapt(func(opts ...poolrt.Option) (*generated.ProbeDeadlinePool, error) {
			return generated.NewProbeDeadlinePool(nil, opts...)
		}),
		cost: conformance.Adapt(generated.NewProbeCostPool),
	})
}

func probePtrFlavors() []rankFlavor[*generated.ProbePtr] {
	return rankFlavors("generated.ProbePtr", rankFlavor[*generated.ProbePtr]{
		priority: conformance.Adapt(generated.NewProbePtrPriorityPool),
		deadline: conformance.Adapt(func(opts ...poolrt.Option) (*generated.ProbePtrDeadlinePool, error) {
			return generated.NewProbePtrDeadlinePool(nil, opts...)
		}),
		cost: conformance.Adapt(generated.NewProbePtrCostPool),
	})
}

// withAging adds poolrt.Aging(every) to the options a constructor gets.
func withAging[T any](newPool func(opts ...poolrt.Option) (conformance.Pool[T], error), every time.Duration) func(opts ...poolrt.Option) (conformance.Pool[T], error) {
	return func(opts ...poolrt.Option) (conformance.Pool[T], error) {
		return newPool(append(slices.Clone(opts), poolrt.Aging(every))...)
	}
}

func rankContractRows[T any](flavors []rankFlavor[T]) []conformance.Impl[T] {
	var rows []conformance.Impl[T]
	for _, f := range flavors {
		rows = append(rows,
			conformance.Impl[T]{Name: f.prefix + "PriorityPool", New: f.priority},
			conformance.Impl[T]{Name: f.prefix + "PriorityPool/Aging", New: withAging(f.priority, time.Millisecond)},
			conformance.Impl[T]{Name: f.prefix + "DeadlinePool", New: f.deadline},
			conformance.Impl[T]{Name: f.prefix + "CostPool", New: f.cost},
			conformance.Impl[T]{Name: f.prefix + "CostPool/Aging", New: withAging(f.cost, time.Millisecond)},
		)
	}
	return rows
}

func TestPriorityProbe(t *testing.T) {
	for _, impl := range rankContractRows(probeFlavors()) {
		impl.Pattern = conformance.Priority
		impl.Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impl.ID = func(p generated.Probe) int { return p.ID }
		conformance.Run(t, impl)
	}
}

func TestPriorityProbePtr(t *testing.T) {
	for _, impl := range rankContractRows(probePtrFlavors()) {
		impl.Pattern = conformance.Priority
		impl.Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impl.ID = func(p *generated.ProbePtr) int { return p.ID }
		conformance.Run(t, impl)
	}
}

// rankRows lists the priority-pattern pools for RunRank, with how each
// turns a rank (lower runs first) into its task's priority, deadline or
// cost.
func rankRows[T any](flavors []rankFlavor[T], task func(ctl *probe.Control, id int) T, set func(t T, prio int, due time.Time, size int) T) []conformance.RankImpl[T] {
	// Deadlines far in the future, so that no task is late.
	base := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	byPrio := func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), -rank, time.Time{}, 0) }
	byDue := func(ctl *probe.Control, id, rank int) T {
		return set(task(ctl, id), 0, base.Add(time.Duration(rank)*time.Second), 0)
	}
	byCost := func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), 0, time.Time{}, rank) }
	// For the late-task tests: any deadline, past ones included.
	due := func(ctl *probe.Control, id int, due time.Time) T { return set(task(ctl, id), 0, due, 0) }
	// Long enough that no task ages past another in the ordering tests;
	// the aging tests scale their scenario to it.
	const aging = time.Hour
	var rows []conformance.RankImpl[T]
	for _, f := range flavors {
		rows = append(rows,
			conformance.RankImpl[T]{Name: f.prefix + "PriorityPool", Kind: poolrt.ByPriority, New: f.priority, Ranked: byPrio},
			conformance.RankImpl[T]{Name: f.prefix + "PriorityPool/Aging", Kind: poolrt.ByPriority, Aging: aging, New: withAging(f.priority, aging), Ranked: byPrio},
			conformance.RankImpl[T]{Name: f.prefix + "DeadlinePool", Kind: poolrt.ByDeadline, New: f.deadline, Ranked: byDue, Due: due},
			conformance.RankImpl[T]{Name: f.prefix + "CostPool", Kind: poolrt.ByCost, New: f.cost, Ranked: byCost},
			conformance.RankImpl[T]{Name: f.prefix + "CostPool/Aging", Kind: poolrt.ByCost, Aging: aging, New: withAging(f.cost, aging), Ranked: byCost},
		)
	}
	return rows
}

func TestRankProbe(t *testing.T) {
	for _, impl := range rankRows(probeFlavors(),
		func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} },
		func(p generated.Probe, prio int, due time.Time, size int) generated.Probe {
			p.Prio, p.Due, p.Size = prio, due, size
			return p
		}) {
		impl.ID = func(p generated.Probe) int { return p.ID }
		conformance.RunRank(t, impl)
	}
}

func TestRankProbePtr(t *testing.T) {
	for _, impl := range rankRows(probePtrFlavors(),
		func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} },
		func(p *generated.ProbePtr, prio int, due time.Time, size int) *generated.ProbePtr {
			p.Prio, p.Due, p.Size = prio, due, size
			return p
		}) {
		impl.ID = func(p *generated.ProbePtr) int { return p.ID }
		conformance.RunRank(t, impl)
	}
}
