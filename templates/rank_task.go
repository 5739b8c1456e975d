package templates

import "time"

// The priority pattern's pools read a task's rank only through these
// methods, each called once, when the task is submitted. poolgen binds
// each either to the task type's own method or to a struct field tagged
// `poolgen:"priority"`, `poolgen:"deadline"` or `poolgen:"cost"`, which
// generated pools then read directly. Used without generating, a task
// type that lacks the method goes to PriorityFuncPool, DeadlineFuncPool or
// CostFuncPool, which read the rank through a function (funcs.go).

// PriorityTask is a task with a priority, for PriorityPool: a higher
// priority runs first.
type PriorityTask interface {
	Task
	Priority() int64
}

// DeadlineTask is a task with a deadline, for DeadlinePool: an earlier
// deadline runs first. The zero time.Time means no deadline: such a task
// runs after every task that has one.
type DeadlineTask interface {
	Task
	Deadline() time.Time
}

// CostTask is a task with a cost (an estimate of its run time in any unit),
// for CostPool: a cheaper task runs first.
type CostTask interface {
	Task
	Cost() int64
}
