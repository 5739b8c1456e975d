package poolimpl

import (
	"math/rand/v2"
	"testing"
)

// checkSched checks the scheduler's invariants: both heaps ordered and
// indexed, the backlogged tenants exactly those in the active heap, the
// idle heap's tenants idle and ahead of the virtual time, and the queued
// counts matching the slots in use.
func checkSched(t *testing.T, s *fairSched, slots int) {
	t.Helper()
	for _, h := range []struct {
		ids    []int32
		active bool
	}{{s.active, true}, {s.idle, false}} {
		for i, id := range h.ids {
			if s.tenants[id].heap != int32(i) {
				t.Fatalf("tenant %d at %d thinks it is at %d", id, i, s.tenants[id].heap)
			}
			if i > 0 && s.less(id, h.ids[(i-1)/2], h.active) {
				t.Fatalf("heap order broken at %d", i)
			}
			tn := &s.tenants[id]
			if h.active && tn.queued == 0 {
				t.Fatalf("tenant %d in the active heap with nothing queued", id)
			}
			if !h.active && (tn.queued > 0 || tn.running > 0 || tn.finish <= s.vt) {
				t.Fatalf("tenant %d in the idle heap: queued %d, running %d, finish %g, vt %g", id, tn.queued, tn.running, tn.finish, s.vt)
			}
		}
	}
	queued := 0
	for id := range s.tenants {
		tn := &s.tenants[id]
		if !tn.live {
			continue
		}
		queued += int(tn.queued)
		if tn.queued > 0 && (tn.heap < 0 || s.active[tn.heap] != int32(id)) {
			t.Fatalf("backlogged tenant %d not in the active heap", id)
		}
		if tn.queued == 0 && tn.running == 0 && tn.waiting == 0 && tn.heap < 0 {
			t.Fatalf("idle tenant %d kept outside the idle heap", id)
		}
	}
	if queued != s.queued || s.queued+len(s.free) != slots {
		t.Fatalf("queued %d (tenants say %d), free %d, slots %d", s.queued, queued, len(s.free), slots)
	}
}

// TestFairSchedModel drives the scheduler with random pushes, pops and
// ends over many tenants, checking its invariants after every step, and
// that once everything has ended and run, every tenant is forgotten.
func TestFairSchedModel(t *testing.T) {
	const slots = 64
	r := rand.New(rand.NewPCG(1, 2))
	var s fairSched
	ids := map[int]int32{}
	keys := map[int32]int{}
	s.init(slots, func(id int32) { delete(ids, keys[id]); delete(keys, id) })
	type running struct {
		id      int32
		charged int64
	}
	var runs []running
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5 && len(s.free) > 0:
			k := r.IntN(200)
			id, ok := ids[k]
			if !ok {
				id = s.takeUp(1 + r.IntN(4))
				ids[k], keys[id] = id, k
			}
			s.push(id)
		case op < 8:
			if id, _, charged, ok := s.pop(); ok {
				runs = append(runs, running{id, charged})
			}
		case len(runs) > 0:
			i := r.IntN(len(runs))
			s.end(runs[i].id, runs[i].charged, int64(r.IntN(5000)))
			runs = append(runs[:i], runs[i+1:]...)
		}
		if step%7 == 0 {
			checkSched(t, &s, slots)
		}
	}
	for _, run := range runs {
		s.end(run.id, run.charged, 1000)
	}
	for {
		id, _, charged, ok := s.pop()
		if !ok {
			break
		}
		s.end(id, charged, 1000)
	}
	checkSched(t, &s, slots)
	// The tenants still kept are ahead of vt; a newcomer's tasks move vt
	// past them.
	id := s.takeUp(1)
	for len(s.idle) > 1 || len(s.idle) == 1 && s.idle[0] != id {
		s.push(id)
		_, _, charged, _ := s.pop()
		s.end(id, charged, 1<<20)
	}
	checkSched(t, &s, slots)
	if len(ids) != 0 || s.forgotten == 0 {
		t.Fatalf("%d tenants still kept (%d forgotten)", len(ids), s.forgotten)
	}
}

// TestFairSchedDebt: a tenant that used more than its share and went idle
// is remembered until the others catch up, so that coming back at once it
// does not start afresh; it is forgotten once the virtual time passes it.
func TestFairSchedDebt(t *testing.T) {
	var s fairSched
	forgot := map[int32]bool{}
	s.init(8, func(id int32) { forgot[id] = true })
	a, b := s.takeUp(1), s.takeUp(1)
	s.push(a)
	s.push(b)
	_, _, ca, _ := s.pop() // a, the first to be backlogged
	_, _, cb, _ := s.pop()
	s.end(a, ca, 100) // a ran 100 units, b 10: both are ahead of vt (0)
	s.end(b, cb, 10)
	if len(forgot) != 0 || len(s.idle) != 2 {
		t.Fatalf("a and b should wait in the idle heap: idle %v, forgotten %v", s.idle, forgot)
	}
	// a comes back with a newcomer c: c goes first until it has had as
	// much as a.
	c := s.takeUp(1)
	s.push(c)
	s.push(a)
	id, _, cc, _ := s.pop()
	if id != c {
		t.Fatalf("took %d, want c (%d): a is in debt", id, c)
	}
	s.end(c, cc, 50)
	s.push(c)
	if id, _, _, _ := s.pop(); id != c {
		t.Fatalf("took %d, want c (%d), at 50 of a's 100", id, c)
	}
	if !forgot[b] || forgot[a] {
		t.Fatalf("the virtual time (%g) passed b (10), not a: forgotten %v", s.vt, forgot)
	}
	if id, _, _, _ := s.pop(); id != a {
		t.Fatalf("took %d, want a (%d)", id, a)
	}
}

// TestFairSchedRefund: a task taken and then not run (its circuit breaker
// turned it away) costs its tenant nothing: the charge is given back, so
// the tenant's next task goes before another tenant's, and the run time
// estimates and counts of ended tasks are left as they were.
func TestFairSchedRefund(t *testing.T) {
	var s fairSched
	s.init(8, func(int32) {})
	a, b := s.takeUp(1), s.takeUp(1)
	s.tenants[a].est, s.tenants[b].est = 1000, 1000
	for range 2 {
		s.push(a)
		s.push(b)
	}
	id, _, charged, _ := s.pop()
	if id != a || charged != 1000 {
		t.Fatalf("took %d charged %d, want a (%d) charged 1000", id, charged, a)
	}
	s.refund(a, charged)
	checkSched(t, &s, 8)
	ta := &s.tenants[a]
	if ta.finish != 0 || ta.est != 1000 || ta.ended != 0 || ta.busy != 0 || ta.running != 0 || s.est != 0 {
		t.Fatalf("after the refund: finish %g, est %d, ended %d, busy %d, running %d, pool est %d",
			ta.finish, ta.est, ta.ended, ta.busy, ta.running, s.est)
	}
	if id, _, _, _ := s.pop(); id != a {
		t.Fatalf("took %d, want a (%d): its refused task cost it nothing", id, a)
	}
	if id, _, _, _ := s.pop(); id != b {
		t.Fatalf("took %d, want b (%d), a having had its share", id, b)
	}
	checkSched(t, &s, 8)
}
