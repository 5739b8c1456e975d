// Package poolrt is the small, non-generic runtime shared by every poolgen
// pool: the generic pools in package templates and the pools that the
// poolgen command generates from them.
//
// It holds what does not depend on the task type: the errors pools return
// ([ErrClosed], [ErrQueueFull], [PanicError], [BatchError],
// [DeadlineError]), configuration ([Option] and its resolution into
// [Settings], where bad values become constructor errors), the pool
// [Lifecycle], metrics (single-writer counters and a lock-free latency
// [Histogram], merged on read into a [Stats] snapshot with a section per
// pattern), worker parking ([Sleepers]), the dynamic pool's controller and
// scaling policies ([ScalePolicy]), the priority pools' heap, and cheap
// per-processor randomness for spreading submissions over queue shards.
//
// The package lives in the directory runtime/ of the module but is named
// poolrt so that it never shadows the standard library's runtime package;
// import it as
//
//	import poolrt "github.com/poolgen/poolgen/runtime"
//
// which is also how generated code imports it.
package poolrt
