package templates

// Pool states, in the only order they are entered.
const (
	stateOpen     uint32 = iota // accepting tasks
	stateDraining               // intake stopped; workers finish the queue, then exit
	stateStopped                // intake stopped; workers exit after their current task
)

// idleSpins is how many times an idle worker yields and looks for work
// before it parks. Parking and waking cost a few microseconds of scheduler
// work, mostly on the submitter that wakes; a few yields bridge the short
// gaps of a steady stream without burning a core when the pool is idle.
const idleSpins = 4
