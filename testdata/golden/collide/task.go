// Package collide declares, at package level, the names that the
// generated file would otherwise import or use for locals: the imports
// must be renamed, and template locals that the task type's name would
// shadow must be too.
package collide

import (
	ctx "context"
)

var (
	sync     = "not the sync package"
	atomic   = 1
	time     = 2.0
	runtime  = struct{}{}
	poolrt   = "not the runtime either"
	context  = []int{}
	poolimpl = "not the pools' implementation"
)

// p is named like the templates' receivers, and t like their task
// parameters. Its stealing pool brings in the runtime package.
//
//poolgen:pools fixed,stealing
type p struct{ id int }

func (x p) Run(c ctx.Context) error { return nil }

//poolgen:pools fixed
type t struct{ id int }

func (x *t) Run(c ctx.Context) error { return nil }

var _, _, _, _, _, _, _ = sync, atomic, time, runtime, poolrt, context, poolimpl
