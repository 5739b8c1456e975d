// Package gen is poolgen's generator. It specializes the generic pools of
// package templates for the task types of a Go package and writes them to
// one gofmt'd file, in seven steps. Each step is a file of this package and
// a function that takes the result of the step before and returns its own:
//
//	load        load.go        the user's package and the templates, type-checked
//	check       check.go       the task types, with their directives, patterns and tags
//	bind        bind.go        how each task meets what its pools' templates ask of it
//	specialize  specialize.go  the templates rewritten for each task type
//	assemble    assemble.go    the file: header, imports, glue, specialized code
//	verify      verify.go      the package type-checked with the file in place
//	write       write.go       the file written atomically
//
// Generate runs the steps up to verify, Write the last, Run them all. The
// other files hold what a step needs: directive.go and tags.go check's
// reading of directives and struct tags; rules.go, names.go, rewrite.go and
// comments.go specialize's rules for template code, naming, rewrite of
// code and rewrite of comments; errors.go the errors of every step.
//
// Problems with the user's input are reported together, each at its
// file:line:col, so that one run shows everything to fix. The templates
// obey the rules that rules.go lists, and a break of one is reported at
// the template's file:line:col.
//
// The rewrite works on the type-checked templates: every use of the task
// type parameter becomes the task type, every package-level template name
// gets the task type's name as a prefix, instantiations lose their type
// arguments, a rank or key method that the task meets with a tagged field
// becomes a call of a generated accessor that reads the field, calls of
// the batch handler call the user's function, and imports get names that
// nothing in the user's package shadows. Because the task type is concrete
// in the output, its Run method (and every other method the pools call) is
// called directly.
package gen

import (
	"bytes"
	"go/token"
	"path/filepath"
	"strings"
)

// Config is one poolgen run.
type Config struct {
	// Dir is the package directory (default ".").
	Dir string
	// Types names the task types. Empty means every type in the package
	// whose doc comment has a //poolgen:pools directive.
	Types []string
	// Pools, if set, overrides the patterns of the directives.
	Pools []string
	// Output is the file to write, relative to Dir unless absolute
	// (default <first type, lower case>_pool.go, or poolgen_pools.go
	// without Types).
	Output string
	// Tags are build tags for loading the package.
	Tags []string
	// Args is the command line as written in the //go:generate line,
	// quoted in the output's header.
	Args []string
	// Invoked is where poolgen was invoked from (go generate's $GOFILE
	// and $GOLINE), for errors that have no other place.
	Invoked token.Position
	// Templates is the import path of the templates to specialize
	// (default TemplatesPath). Tests point it at small fixture packages
	// that obey the same rules (rules.go).
	Templates string
}

// Output is a generated file, not yet written.
type Output struct {
	Path   string
	Source []byte
	Tasks  []*TaskSpec
}

// OutputPath returns the path Generate writes for cfg.
func (cfg *Config) OutputPath() string {
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	out := cfg.Output
	if out == "" {
		if len(cfg.Types) > 0 {
			out = strings.ToLower(cfg.Types[0]) + "_pool.go"
		} else {
			out = "poolgen_pools.go"
		}
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(dir, out)
	}
	if abs, err := filepath.Abs(out); err == nil {
		out = abs // go/packages overlays need absolute paths
	}
	return out
}

// withDefaults returns cfg with every default filled in, and Output made
// the absolute path that the steps read and write.
func (cfg Config) withDefaults() Config {
	cfg.Output = cfg.OutputPath()
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	if !cfg.Invoked.IsValid() {
		cfg.Invoked = token.Position{Filename: cfg.Dir}
	}
	if cfg.Templates == "" {
		cfg.Templates = TemplatesPath
	}
	return cfg
}

// Generate produces the pools for cfg without writing anything: the steps
// from load to verify, each fed the result of the one before.
func Generate(cfg Config) (*Output, error) {
	loaded, err := load(cfg.withDefaults())
	if err != nil {
		return nil, err
	}
	checked, err := check(loaded)
	if err != nil {
		return nil, err
	}
	bound, err := bind(checked)
	if err != nil {
		return nil, err
	}
	specialized, err := specialize(bound)
	if err != nil {
		return nil, err
	}
	out, err := assemble(specialized)
	if err != nil {
		return nil, err
	}
	return verify(out)
}

// Run generates and writes: what the poolgen command does.
func Run(cfg Config) error {
	out, err := Generate(cfg)
	if err != nil {
		return err
	}
	return Write(out)
}

// headerPrefix starts the first line of every file poolgen writes.
const headerPrefix = "// Code generated by \"poolgen"

// isPoolgenOutput reports whether src carries poolgen's generated-code
// header on a line before the package clause: load empties such files for
// the load, and Write overwrites no other.
func isPoolgenOutput(src []byte) bool {
	for line := range bytes.Lines(src) {
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("package ")) {
			return false
		}
		if bytes.HasPrefix(line, []byte(headerPrefix)) && bytes.HasSuffix(line, []byte("DO NOT EDIT.")) {
			return true
		}
	}
	return false
}
