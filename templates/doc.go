// Package templates holds poolgen's worker pools as ordinary generic Go.
//
// Use them directly, without generating anything:
//
//	p, err := templates.NewFixedPool[Resize](poolrt.Workers(8))
//	...
//	err = p.Submit(ctx, Resize{Src: "a.png", Width: 64})
//	...
//	err = p.Shutdown(ctx)
//
// or let the poolgen command specialize them for a task type: the generated
// ResizeFixedPool is this package's FixedPool with Resize written in for the
// type parameter, so its calls of Run are direct (inlinable) rather than
// through the generic dictionary, which matters for tiny tasks and for
// pools that call into the task often (priorities, deadlines, batch keys).
// Both flavors behave identically; one conformance suite runs over both.
//
// Every pool offers Submit (blocks while the queue is full; its context
// bounds only that wait, and never reaches Run), SubmitWait (Submit, then
// wait for the task's outcome), TrySubmit (never blocks), Closed (has
// intake stopped?), Shutdown (stop intake, drain, wait), ShutdownNow
// (stop, hand back what never started) and Stats. Options and errors are in package poolrt
// (github.com/poolgen/poolgen/runtime).
//
// PriorityPool, DeadlinePool, CostPool and BatchPool ask the task for its
// rank or batch key through a method (PriorityTask, DeadlineTask,
// CostTask, Keyed). A task type without that method, such as one whose
// rank is a struct field tagged for poolgen (tags are read by generated
// pools only), goes to PriorityFuncPool, DeadlineFuncPool, CostFuncPool or
// BatchFuncPool instead, whose constructors take a function that reads it:
//
//	q, err := templates.NewBatchFuncPool(func(o Order) string { return o.Customer }, SaveOrders)
//
// Router sends each task to the pool of its class (Classed: a Class
// method), one pool of any of these patterns per class.
// FairPool asks for the task's tenant through Tenant() (FairTask) and has
// no Func variant: a task type whose tenant is a tagged field uses the
// generated pool, or declares the method.
//
// # Rules for template code
//
// This package is the single source of every generated pool, so its code
// obeys the rules that keep the rewrite simple and type-safe. They are
// listed in one place, internal/gen/rules.go, and every poolgen run checks
// them on the code it emits. Besides:
//
//   - Only what depends on the task type belongs here: the pools' exported
//     face, the reads of its methods or tagged fields, and the lanes whose
//     loops call Run (task.go). Everything else — queues, workers, parking,
//     shutdown, metrics — lives once in package poolimpl
//     (github.com/poolgen/poolgen/runtime/poolimpl), generic over the task
//     type but never calling it, or in poolrt; code here is emitted again
//     for every task type.
package templates
