// Package testhook holds switches that tests set to drive the pools into
// states they otherwise reach only by chance. Package poolrt reads them
// when a pool is created; nothing outside this module can set them.
package testhook

import "sync/atomic"

// TakeAll makes the pools created while it is set keep their queue in one
// shard and take from it as many tasks at once as a batch holds, whatever
// their run times and however many workers are parked: the worst case of
// batched takes, on which the pools must still lose no time.
var TakeAll atomic.Bool
