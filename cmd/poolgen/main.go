// Poolgen generates worker pools specialized to a task type: type-safe, with
// no interface or closure per task, no allocation per task for value types,
// and direct calls of the task's Run method.
//
// Mark a task type and add a go:generate line:
//
//	//go:generate go tool poolgen -type=Resize
//
//	// Resize scales an image.
//	//
//	//poolgen:pools fixed
//	type Resize struct{ ... }
//
//	func (r Resize) Run(ctx context.Context) error { ... }
//
// then run go generate. Poolgen writes resize_pool.go, declaring
// ResizeFixedPool and NewResizeFixedPool.
//
// # Directives
//
// Directives go in the task type's doc comment, with no space after the
// slashes:
//
//	//poolgen:pools fixed,dynamic,stealing,priority,batch,fair
//	//poolgen:batch HandlerName
//
// The first lists the patterns to generate (default fixed). The second
// names the batch pool's handler, a func(ctx context.Context, batch []X)
// error that the generated code calls directly, where X is the task type
// (*X when its Run method has a pointer receiver).
//
// A comment that looks like a directive but is not one (// poolgen:pools,
// with a space; //Poolgen:pools or //poolgen:Pools; /* poolgen:pools */)
// is an error, as is a directive anywhere but in a type's doc comment,
// directly above the type: poolgen says what is wrong and the line to
// write. The task type must be in a file that poolgen loads: not a
// _test.go file, and not one that the build constraints exclude (pass
// -tags).
//
// # Struct tags
//
// The priority pools order tasks by what the task type offers: a Priority()
// int64 method or an integer field tagged `poolgen:"priority"` (XPriorityPool,
// higher first, with aging), a Deadline() time.Time method or a time.Time
// field tagged `poolgen:"deadline"` (XDeadlinePool, earliest deadline
// first), a Cost() int64 method or an integer field tagged `poolgen:"cost"`
// (XCostPool, shortest job first). The batch pool groups tasks by a
// BatchKey() method or a comparable field tagged `poolgen:"batchkey"`
// (without one, all tasks share batches). The fair pool (XFairPool) shares
// its workers between tenants, read from a Tenant() K method or a
// comparable field tagged `poolgen:"tenant"`. Tagged fields are read directly:
// the generated code makes no call.
//
// The tagged field may also be a field of a struct that the task type
// embeds, by value or by pointer: the generated code reads it through the
// embedding (t.Meta.Prio), even where a field of the task type shadows it;
// a nil embedded pointer then panics, as reading the field would. Every
// poolgen tag must be read, so these are errors: a tag that
// reflect.StructTag.Lookup cannot parse (poolgen:priority, without quotes);
// a tag on a struct that is neither a task type (one this run generates,
// one with a directive, or one that a //go:generate line of the package
// names with -type) nor embedded in one; and, unless -pools chose the
// patterns, a tag that no generated pool uses.
//
// # Usage
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
//		directive's, or fixed); struct tags and a //poolgen:batch handler
//		that these patterns do not use are then unused, not errors
//	-output file
//		output file name (default <type>_pool.go, lower case, or
//		poolgen_pools.go without -type); after switching it, delete the
//		old output, which poolgen names if it declares the same pools
//	-tags list
//		comma-separated build tags used to load the package, needed when
//		a task type is in a file that build constraints exclude
//	-version
//		print poolgen's version and exit: the module version (and the
//		directory a replace directive points it to), or (devel) and the
//		version control revision, time and modified flag
//	-h, -help
//		print the usage, the flags, the directives, the struct tags and
//		where the documentation is, and exit
//
// The help and the version go to standard output, errors to standard
// error.
// Poolgen never overwrites a file that lacks its "Code generated ... DO NOT
// EDIT." header, never writes a partial file, and reports bad input with
// its position (file:line:col). It exits with status 1 when it reports bad
// input or cannot write, 2 on a bad command line, and 0 after -h or
// -version.
//
// The README of github.com/poolgen/poolgen covers installation, the pools
// and their options.
package main

import (
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/poolgen/poolgen/internal/gen"
)

func main() {
	os.Exit(exitStatus(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitStatus returns poolgen's exit status for run's result, and reports
// an error that run has not reported already to stderr: 0 on success and
// after -h or -help (which print the help and succeed, as go's own tools
// do), 2 on a bad command line (reported with the usage), 1 on bad input
// or a failure to write.
func exitStatus(err error, stderr io.Writer) int {
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		return 2
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

// usageError is a bad command line, already reported to stderr with the
// usage.
type usageError struct{ error }

// help follows the flags in the output of -h: the directives, the struct
// tags and where the documentation is. The package doc comment says the
// same at more length.
const help = `
Directives, in the task type's doc comment, directly above the type (line
comments, lower case, no space after the slashes):
  //poolgen:pools fixed,dynamic,stealing,priority,batch,fair
        the patterns to generate (default fixed; -pools overrides it, and
        tags and a handler that its patterns do not use are then unused)
  //poolgen:batch HandlerName
        the batch pool's handler, a func(ctx context.Context, batch []X) error

Struct tags on the task's fields, read directly by the generated code (X is
the task type; a method can stand in for each tag):
  ` + "`" + `poolgen:"priority"` + "`" + `  an integer field (or Priority() int64):
                        XPriorityPool, higher runs first
  ` + "`" + `poolgen:"deadline"` + "`" + `  a time.Time field (or Deadline() time.Time):
                        XDeadlinePool, earliest deadline first
  ` + "`" + `poolgen:"cost"` + "`" + `      an integer field (or Cost() int64):
                        XCostPool, cheapest first
  ` + "`" + `poolgen:"batchkey"` + "`" + `  a comparable field (or BatchKey() K):
                        the batch pool's grouping key
  ` + "`" + `poolgen:"tenant"` + "`" + `    a comparable field (or Tenant() K):
                        XFairPool, whose workers are shared between tenants
A tagged field may be in a struct the task type embeds; a poolgen tag that
no generated pool reads is an error (under -pools, one of a pattern that it
leaves out is simply unused).

Example:
  //go:generate go tool poolgen -type=Resize

  // Resize scales an image.
  //
  //poolgen:pools fixed,dynamic
  type Resize struct{ ... }

  func (r Resize) Run(ctx context.Context) error { ... }

Documentation: the README of github.com/poolgen/poolgen, and
  go doc github.com/poolgen/poolgen/cmd/poolgen
`

// options are poolgen's flags.
type options struct {
	types, pools, output, tags *string
	version                    *bool
}

// newFlagSet declares poolgen's flags. The flag set prints nothing: run
// reports a bad command line, or prints the help, itself.
func newFlagSet() (*flag.FlagSet, options) {
	fs := flag.NewFlagSet("poolgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, options{
		types:   fs.String("type", "", "comma-separated `list` of task type names (default: the types with a //poolgen:pools directive)"),
		pools:   fs.String("pools", "", "comma-separated `list` of pool patterns, overriding the directives (tags and a batch handler they do not use are then unused)"),
		output:  fs.String("output", "", "output `file` name (default <type>_pool.go)"),
		tags:    fs.String("tags", "", "comma-separated `list` of build tags"),
		version: fs.Bool("version", false, "print poolgen's version and exit"),
	}
}

// run runs poolgen with the command-line arguments args, writing what was
// asked for (-h, -version) to stdout and a bad command line's report to
// stderr.
func run(args []string, stdout, stderr io.Writer) error {
	fs, opt := newFlagSet()
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: poolgen [flags] [directory]\n\n")
		fmt.Fprintf(w, "Poolgen generates worker pools specialized to a task type, for go:generate.\n")
		fmt.Fprintf(w, "The directory defaults to the current one.\n\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	badUsage := func(err error) error {
		fmt.Fprintln(stderr, err)
		usage(stderr)
		fmt.Fprintln(stderr, "\nRun 'poolgen -h' for the directives and struct tags.")
		return usageError{err}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			fmt.Fprint(stdout, help)
			return err
		}
		return badUsage(fmt.Errorf("poolgen: %w", err))
	}
	if *opt.version {
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	if fs.NArg() > 1 {
		return badUsage(fmt.Errorf("poolgen: one directory at most, got %d arguments", fs.NArg()))
	}
	cfg := gen.Config{
		Dir:    fs.Arg(0),
		Types:  split(*opt.types),
		Pools:  split(*opt.pools),
		Output: *opt.output,
		Tags:   split(*opt.tags),
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

// versionString is what -version prints, from the running binary's build
// information.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "poolgen (unknown version: no build information)"
	}
	return formatVersion(bi)
}

// formatVersion describes the build bi: "poolgen " and the main module's
// version; for a module replaced by a directory (a tool built from a
// checkout), the directory; for a development build, (devel) and the
// version control settings the go command stamped, when there are any.
func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	out := "poolgen " + v
	if r := bi.Main.Replace; r != nil {
		out += " => " + r.Path
		if r.Version != "" && r.Version != "(devel)" {
			out += " " + r.Version
		}
	}
	if v == "(devel)" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				out += " " + s.Key + "=" + s.Value
			}
		}
	}
	return out
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
