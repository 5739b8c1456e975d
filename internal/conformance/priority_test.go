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

// rankNewDeadline adapts NewDeadlinePool, whose first parameter is the late
// handler, to the suite's constructor shape.
func rankNewDeadline[T templates.DeadlineTask](opts ...poolrt.Option) (*templates.DeadlinePool[T], error) {
	return templates.NewDeadlinePool[T](nil, opts...)
}

func rankContractRows[T interface {
	templates.PriorityTask
	templates.DeadlineTask
	templates.CostTask
}]() []conformance.Impl[T] {
	return []conformance.Impl[T]{
		{Name: "templates.PriorityPool", New: conformance.Adapt(templates.NewPriorityPool[T])},
		{Name: "templates.PriorityPool/Aging", New: rankWithAging(templates.NewPriorityPool[T], time.Millisecond)},
		{Name: "templates.DeadlinePool", New: conformance.Adapt(rankNewDeadline[T])},
		{Name: "templates.CostPool", New: conformance.Adapt(templates.NewCostPool[T])},
		{Name: "templates.CostPool/Aging", New: rankWithAging(templates.NewCostPool[T], time.Millisecond)},

		// --- generated pools: one row per priority pool poolgen generates ---
	}
}

func TestPriorityProbe(t *testing.T) {
	for _, impl := range rankContractRows[generated.Probe]() {
		impl.Pattern = poolrt.Priority
		impl.Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impl.ID = func(p generated.Probe) int { return p.ID }
		conformance.Run(t, impl)
	}
}

func TestPriorityProbePtr(t *testing.T) {
	for _, impl := range rankContractRows[*generated.ProbePtr]() {
		impl.Pattern = poolrt.Priority
		impl.Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impl.ID = func(p *generated.ProbePtr) int { return p.ID }
		conformance.Run(t, impl)
	}
}

// rankRows lists the priority-pattern pools for RunRank, with how each
// turns a rank (lower runs first) into its task's priority, deadline or
// cost.
func rankRows[T interface {
	templates.PriorityTask
	templates.DeadlineTask
	templates.CostTask
}](task func(ctl *probe.Control, id int) T, set func(t T, prio int, due time.Time, size int) T) []conformance.RankImpl[T] {
	// Deadlines far in the future, so that no task is late.
	base := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	return []conformance.RankImpl[T]{
		{Name: "templates.PriorityPool", New: conformance.Adapt(templates.NewPriorityPool[T]),
			Ranked: func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), -rank, time.Time{}, 0) }},
		{Name: "templates.PriorityPool/Aging", New: rankWithAging(templates.NewPriorityPool[T], time.Hour),
			Ranked: func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), -rank, time.Time{}, 0) }},
		{Name: "templates.DeadlinePool", New: conformance.Adapt(rankNewDeadline[T]),
			Ranked: func(ctl *probe.Control, id, rank int) T {
				return set(task(ctl, id), 0, base.Add(time.Duration(rank)*time.Second), 0)
			}},
		{Name: "templates.CostPool", New: conformance.Adapt(templates.NewCostPool[T]),
			Ranked: func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), 0, time.Time{}, rank) }},
		{Name: "templates.CostPool/Aging", New: rankWithAging(templates.NewCostPool[T], time.Hour),
			Ranked: func(ctl *probe.Control, id, rank int) T { return set(task(ctl, id), 0, time.Time{}, rank) }},

		// --- generated pools: one row per priority pool poolgen generates ---
	}
}

// rankWithAging adapts a constructor to add poolrt.Aging(every) to the options
// it is given.
func rankWithAging[T any, P conformance.Pool[T]](newPool func(opts ...poolrt.Option) (P, error), every time.Duration) func(opts ...poolrt.Option) (conformance.Pool[T], error) {
	return conformance.Adapt(func(opts ...poolrt.Option) (P, error) {
		return newPool(append(slices.Clone(opts), poolrt.Aging(every))...)
	})
}

func TestRankProbe(t *testing.T) {
	for _, impl := range rankRows(
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
	for _, impl := range rankRows(
		func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} },
		func(p *generated.ProbePtr, prio int, due time.Time, size int) *generated.ProbePtr {
			p.Prio, p.Due, p.Size = prio, due, size
			return p
		}) {
		impl.ID = func(p *generated.ProbePtr) int { return p.ID }
		conformance.RunRank(t, impl)
	}
}
