// Poolgen generates worker pools specialised to a task type: type-safe, with
// no interface or closure per task, no allocation per task for value types,
// and direct calls of the task's Run method.
//
// Mark a task type and add a go:generate line:
//
//	//go:generate go tool poolgen -type=Resize
//
//	//poolgen:pools fixed
//	type Resize struct{ ... }
//
//	func (r Resize) Run(ctx context.Context) error { ... }
//
// then run go generate. Poolgen writes resize_pool.go, declaring
// ResizeFixedPool and NewResizeFixedPool.
//
// The directive lists the patterns to generate, among fixed, dynamic,
// stealing, priority and batch. The priority pools order tasks by what the
// task type offers: a Priority() int64 method or an integer field tagged
// `poolgen:"priority"` (XPriorityPool, with aging), a Deadline() time.Time
// method or a time.Time field tagged `poolgen:"deadline"` (XDeadlinePool,
// earliest deadline first), a Cost() int64 method or an integer field
// tagged `poolgen:"cost"` (XCostPool, shortest job first). The batch pool
// needs a handler named by a second directive, //poolgen:batch SaveOrders,
// a func(ctx context.Context, batch []X) error that the generated code
// calls directly, and groups tasks by a BatchKey() method or a comparable
// field tagged `poolgen:"batchkey"` (without one, all tasks share batches).
// Tagged fields are read directly: the generated code makes no call.
//
// Usage:
//
//	poolgen [flags] [directory]
//
// The directory defaults to the current one. The flags are:
//
//	-type list
//		comma-separated task type names; without it, every type whose doc
//		comment has a //poolgen:pools directive
//	-pools list
//		comma-separated patterns, overriding the directives (default: the
//		directive's, or fixed)
//	-output file
//		output file name (default <type>_pool.go, lower case, or
//		poolgen_pools.go without -type)
//	-tags list
//		comma-separated build tags used to load the package
//
// Poolgen never overwrites a file that lacks its "Code generated ... DO NOT
// EDIT." header, never writes a partial file, and reports bad input with
// its position (file:line:col). It exits with status 1 when it reports bad
// input or cannot write, 2 on a bad command line, and 0 after -h.
package main

import (
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/poolgen/poolgen/internal/gen"
)

func main() {
	err := run(os.Args[1:], os.Stderr)
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		// -h and -help print the usage and succeed, as go's own tools do.
	case errors.As(err, &usage):
		os.Exit(2) // reported with the usage already
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// usageError is a bad command line, already reported to stderr with the
// usage.
type usageError struct{ error }

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("poolgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typeNames := fs.String("type", "", "comma-separated task type names (default: types with a //poolgen:pools directive)")
	pools := fs.String("pools", "", "comma-separated pool patterns, overriding the directives")
	output := fs.String("output", "", "output file name (default <type>_pool.go)")
	tags := fs.String("tags", "", "comma-separated build tags")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: poolgen [flags] [directory]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err} // the flag package has printed it and the usage
	}
	if fs.NArg() > 1 {
		err := fmt.Errorf("poolgen: one directory at most, got %d arguments", fs.NArg())
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return usageError{err}
	}
	cfg := gen.Config{
		Dir:    fs.Arg(0),
		Types:  split(*typeNames),
		Pools:  split(*pools),
		Output: *output,
		Tags:   split(*tags),
		Args:   args,
	}
	// go generate says where the directive is; errors without a place of
	// their own (no such type) point there.
	if file := os.Getenv("GOFILE"); file != "" {
		line, _ := strconv.Atoi(os.Getenv("GOLINE"))
		cfg.Invoked = token.Position{Filename: file, Line: line, Column: 1}
	}
	return gen.Run(cfg)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
