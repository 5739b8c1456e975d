// Package imports declares the names of the template code's imports and
// names its task type as a template's local variable. Its golden shows:
// the imports under names that nothing in the package shadows (pgcontext,
// pgpoolrt), in code and in comments (pgpoolrt.ErrClosed), and the
// template's local t renamed t_, so that it does not shadow the task type
// t.
package imports

import stdcontext "context"

var context, poolrt = 1, 2

//poolgen:pools fixed
type t struct{}

func (t) Run(stdcontext.Context) error { return nil }
