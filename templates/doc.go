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
// bounds only that wait, and never reaches Run), TrySubmit (never blocks),
// Shutdown (stop intake, drain, wait), ShutdownNow (stop, hand back what
// never started) and Stats. Options and errors are in package poolrt
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
// # Rules for template code
//
// This package is the single source of every generated pool, so its code
// follows rules that keep the rewrite simple and type-safe:
//
//   - Every generic declaration has the type parameter T, which stands for
//     the task type, and the batch pool's also K, its key type; they
//     instantiate other generic declarations only with their own type
//     parameters.
//   - A pool asks its task for what it needs through methods of T's
//     constraint (Run; Priority, Deadline, Cost; BatchKey). The generator
//     calls the task's own method, or replaces the call by a direct read of
//     the field tagged for that role.
//   - A pattern's pool lives in its own file (fixed.go for FixedPool); the
//     generator emits every declaration of that file and whatever they use
//     from the package: exported ones prefixed with the task type's name
//     (FixedPool → ResizeFixedPool), unexported ones with poolgen and the
//     type's name (runBatch → poolgenResizeRunBatch). Constraint-only
//     declarations such as Task are never emitted, nor is funcs.go, which
//     no pattern's pool uses: it holds the generic-only pools that read a
//     rank or key through a function.
//   - Only what depends on the task type belongs here: the pools' exported
//     face, the reads of its methods or tagged fields, and the lanes whose
//     loops call Run (task.go). Everything else — queues, workers, parking,
//     shutdown, metrics — lives once in package poolimpl
//     (github.com/poolgen/poolgen/runtime/poolimpl), generic over the task
//     type but never calling it, or in poolrt; code here is emitted again
//     for every task type.
package templates
