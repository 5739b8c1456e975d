package poolimpl

// fairSched is the fair pool's scheduler, free of the task and tenant
// types: tenants by index, each with a queue of slot indices, and the
// choice of the tenant whose task runs next. The pool holds its lock
// around every call.
//
// The discipline is start-time fair queueing (Goyal, Vin and Cheng,
// 1996), the virtual-time relative of weighted fair queueing and WF²Q,
// in worker time rather than bytes. Each tenant has a virtual finish tag:
// the worker time it has been charged, divided by its weight, since it
// was taken up. A free worker takes the head task of the backlogged
// tenant with the lowest tag (the earliest to join among equal tags).
// The pool's virtual time is the start tag of the task taken last; a
// tenant that was idle starts at the virtual time, neither owed for the
// time it was away nor in debt for it, so a tenant that comes back cannot
// claim the workers for the time it did not use.
//
// Tasks' run times are not known ahead, so a task is charged twice: its
// tenant's estimate (a moving average of its run times, or the pool's for
// a new tenant) when a worker takes it, so that tasks taken at once from
// several workers see one another, and the difference between the
// estimate and the run time measured when it ends. Over any period in
// which tenants stay backlogged, each gets worker time in proportion to
// its weight, within about one task's run time per tenant (the classic
// bound of fair queueing, with the task for the packet), whatever their
// tasks' run times; a tenant's count of tasks does not matter.
//
// Deficit round robin (Shreedhar and Varghese, 1995) gives the same
// shares in O(1) with a quantum per round, but charges a packet's size
// before sending it: with run times known only afterwards, its debt
// would have to be carried across rounds, and a tenant going idle with a
// debt would escape it. Virtual time keeps the debt in the tag, which
// orders tenants at O(log n) for n backlogged tenants.
//
// An idle tenant (nothing queued, running, waiting to be queued or to be
// retried) whose
// tag is behind the virtual time is forgotten at once: taken up again,
// it would start at the virtual time all the same. One ahead of it (it
// used more than its share lately) is kept in the idle heap until the
// virtual time passes its tag, then forgotten; so the scheduler's memory
// is bounded by the tenants with work plus those recently in debt.
type fairSched struct {
	tenants []fairTenant // by id
	freeIDs []int32      // ids of forgotten tenants, for reuse
	active  []int32      // backlogged tenants: a heap by (finish, seq)
	idle    []int32      // idle tenants ahead of vt: a heap by finish
	next    []int32      // by slot: the next queued slot of its tenant
	free    []int32      // free slots, a stack
	queued  int          // tasks queued, all tenants
	vt      float64      // virtual time: the start tag of the task taken last
	seq     uint64       // tenants ever made backlogged, for ties
	est     int64        // the pool's run time estimate, ns, for new tenants
	// forget is called with the id of a tenant about to be forgotten, so
	// that the pool drops its key.
	forget    func(id int32)
	forgotten uint64
}

// fairTenant is one tenant's state.
type fairTenant struct {
	weight  float64
	finish  float64 // virtual finish tag
	seq     uint64  // when it last became backlogged
	est     int64   // estimated run time of its next task, ns
	head    int32   // first queued slot; -1 when none
	tail    int32
	heap    int32 // position in active or idle; -1 in neither
	queued  int32
	running int32
	waiting int32 // submitters blocked on its full queue, or the pool's
	// retrying counts its tasks in the pool's delay queue (retries, held
	// tasks): they come back to its queue.
	retrying int32
	live     bool
	// For Stats since it was taken up.
	submitted, ended uint64
	busy             int64
}

// estShift weighs a new run time in the moving averages: 1/8.
const estShift = 3

// init sizes the scheduler for slots queued tasks.
func (s *fairSched) init(slots int, forget func(id int32)) {
	s.next = make([]int32, slots)
	s.free = make([]int32, slots)
	for i := range s.free {
		s.free[i] = int32(slots - 1 - i)
	}
	s.forget = forget
}

// takeUp takes up a new tenant of weight w and returns its id.
func (s *fairSched) takeUp(w int) int32 {
	var id int32
	if n := len(s.freeIDs); n > 0 {
		id = s.freeIDs[n-1]
		s.freeIDs = s.freeIDs[:n-1]
	} else {
		id = int32(len(s.tenants))
		s.tenants = append(s.tenants, fairTenant{})
	}
	s.tenants[id] = fairTenant{weight: float64(w), finish: s.vt, est: s.est, head: -1, tail: -1, heap: -1, live: true}
	return id
}

// room reports whether tenant id may queue one more task, with at most
// limit queued.
func (s *fairSched) room(id int32, limit int) (pool, tenant bool) {
	return len(s.free) > 0, int(s.tenants[id].queued) < limit
}

// push queues a task of tenant id: it takes a free slot, links it at the
// tenant's tail and returns it for the caller to fill. The caller checked
// room.
func (s *fairSched) push(id int32) int32 {
	slot := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	t := &s.tenants[id]
	s.next[slot] = -1
	if t.tail >= 0 {
		s.next[t.tail] = slot
	} else {
		t.head = slot
	}
	t.tail = slot
	t.queued++
	t.submitted++
	s.queued++
	if t.queued == 1 {
		if t.heap >= 0 { // in the idle heap, ahead of vt
			s.heapRemove(&s.idle, t.heap, false)
		}
		t.finish = max(t.finish, s.vt)
		s.seq++
		t.seq = s.seq
		s.heapPush(&s.active, id, true)
	}
	return slot
}

// pop takes the next task to run: its tenant, its slot (free again once
// the caller has copied the task out) and the run time charged for it.
// ok is false when nothing is queued. The task counts as running until
// end is called.
func (s *fairSched) pop() (id, slot int32, charged int64, ok bool) {
	if len(s.active) == 0 {
		return 0, 0, 0, false
	}
	id = s.active[0]
	t := &s.tenants[id]
	slot = t.head
	t.head = s.next[slot]
	if t.head < 0 {
		t.tail = -1
	}
	t.queued--
	t.running++
	s.queued--
	s.free = append(s.free, slot)
	start := max(t.finish, s.vt)
	s.vt = start
	charged = max(t.est, 1) // so that taking a task moves the tenant back
	t.finish = start + float64(charged)/t.weight
	if t.queued == 0 {
		s.heapRemove(&s.active, 0, true)
	} else {
		s.heapFix(s.active, 0, true)
	}
	for len(s.idle) > 0 && s.tenants[s.idle[0]].finish <= s.vt {
		x := s.idle[0]
		s.heapRemove(&s.idle, 0, false)
		// Forgotten unless it is busy again: a submitter may wait on it
		// for room in the pool's queue, or a retry of it may be due.
		s.settle(x)
	}
	return id, slot, charged, true
}

// end ends a task of tenant id that was charged charged and ran for ran
// (ns; ran < 0: it never ran, ShutdownNow handed it back, and the pool
// schedules no more).
func (s *fairSched) end(id int32, charged, ran int64) {
	t := &s.tenants[id]
	t.running--
	if ran >= 0 {
		t.ended++
		t.busy += ran
		t.finish += float64(ran-charged) / t.weight
		t.est += (ran - t.est) >> estShift
		s.est += (ran - s.est) >> estShift
	}
	s.place(id)
}

// refund ends a task of tenant id that was charged charged and did not
// run (its circuit breaker turned it away): the tenant gets the charge
// back, and the run time estimates are left as they were.
func (s *fairSched) refund(id int32, charged int64) {
	t := &s.tenants[id]
	t.running--
	t.finish -= float64(charged) / t.weight
	s.place(id)
}

// place puts tenant id where its finish tag now belongs, once a task of
// it ended: in the heap it is in, or idle or forgotten if in neither.
func (s *fairSched) place(id int32) {
	t := &s.tenants[id]
	switch {
	case t.heap < 0:
		s.settle(id)
	case t.queued > 0:
		s.heapFix(s.active, t.heap, true)
	default:
		s.heapFix(s.idle, t.heap, false)
	}
}

// settle forgets tenant id if it is idle and not ahead of vt, or keeps it
// in the idle heap until vt passes it.
func (s *fairSched) settle(id int32) {
	t := &s.tenants[id]
	if t.queued > 0 || t.running > 0 || t.waiting > 0 || t.retrying > 0 || t.heap >= 0 {
		return
	}
	if t.finish <= s.vt {
		s.drop(id)
		return
	}
	s.heapPush(&s.idle, id, false)
}

// drop forgets tenant id.
func (s *fairSched) drop(id int32) {
	s.forget(id)
	s.tenants[id] = fairTenant{}
	s.freeIDs = append(s.freeIDs, id)
	s.forgotten++
}

// less orders tenants a and b in a heap: by finish tag, and in the active
// heap by when they became backlogged among equal tags.
func (s *fairSched) less(a, b int32, active bool) bool {
	ta, tb := &s.tenants[a], &s.tenants[b]
	if ta.finish != tb.finish || !active {
		return ta.finish < tb.finish
	}
	return ta.seq < tb.seq
}

func (s *fairSched) heapPush(h *[]int32, id int32, active bool) {
	*h = append(*h, id)
	i := len(*h) - 1
	s.tenants[id].heap = int32(i)
	s.up(*h, i, active)
}

// heapRemove removes the tenant at position i of h.
func (s *fairSched) heapRemove(h *[]int32, i int32, active bool) {
	hh := *h
	last := len(hh) - 1
	s.tenants[hh[i]].heap = -1
	if int(i) != last {
		hh[i] = hh[last]
		s.tenants[hh[i]].heap = i
	}
	*h = hh[:last]
	if int(i) < last {
		s.heapFix(*h, i, active)
	}
}

// heapFix restores the heap order after the key at position i changed.
func (s *fairSched) heapFix(h []int32, i int32, active bool) {
	if !s.down(h, int(i), active) {
		s.up(h, int(i), active)
	}
}

func (s *fairSched) up(h []int32, i int, active bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(h[i], h[p], active) {
			break
		}
		s.swap(h, i, p)
		i = p
	}
}

// down sifts position i down and reports whether it moved.
func (s *fairSched) down(h []int32, i int, active bool) bool {
	i0 := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && s.less(h[r], h[c], active) {
			c = r
		}
		if !s.less(h[c], h[i], active) {
			break
		}
		s.swap(h, i, c)
		i = c
	}
	return i > i0
}

func (s *fairSched) swap(h []int32, i, j int) {
	h[i], h[j] = h[j], h[i]
	s.tenants[h[i]].heap = int32(i)
	s.tenants[h[j]].heap = int32(j)
}
