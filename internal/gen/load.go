package gen

// This file is the first step, load. It consumes the Config and produces
// the user's package and the templates, parsed and type-checked by one go
// list run, with the poolgen outputs that stand in the package directory.
// It is a step of its own because it is the only one that asks the go
// command anything, and because every problem that stops a package from
// loading is best told in the go command's own words, before anything
// else is looked at.

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// TemplatesPath is the import path of the generic pools that poolgen
// specializes (Config.Templates by default), RuntimePath that of the
// runtime generated code imports, and ImplPath that of the pools'
// implementation, which only generated code (and package templates) uses.
const (
	TemplatesPath = "github.com/poolgen/poolgen/templates"
	RuntimePath   = "github.com/poolgen/poolgen/runtime"
	ImplPath      = "github.com/poolgen/poolgen/runtime/poolimpl"
)

const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule

// loaded is load's result: the run's configuration, with its defaults, and
// the user's package and the templates, type-checked. The later steps'
// results carry it along.
type loaded struct {
	cfg        Config
	user, tmpl *packages.Package
	// others are the package directory's poolgen outputs other than the
	// output file, emptied for the load.
	others []string
}

// load type-checks the package in cfg.Dir and the templates in one go list
// run. The output file, if it is an earlier poolgen output, is replaced by
// an empty file for the load: stale generated code must neither fail the
// load nor collide with what is about to replace it. So is every other
// poolgen output in the directory: one written by another run, or by an
// earlier run with another -output, which specialize then reports if it
// declares what this run does.
func load(cfg Config) (*loaded, error) {
	dir, output, templates := cfg.Dir, cfg.Output, cfg.Templates
	if info, err := os.Stat(dir); err != nil {
		return nil, errorf("loading %s: %v", dir, err)
	} else if !info.IsDir() {
		return nil, errorf("loading %s: not a directory", dir)
	}
	overlay := map[string][]byte{}
	if name, ok, err := generatedPackageName(output); err != nil {
		return nil, err
	} else if ok {
		overlay[output] = []byte("package " + name + "\n")
	}
	others := otherOutputs(dir, output)
	for path, name := range others {
		overlay[path] = []byte("package " + name + "\n")
	}
	pc := &packages.Config{
		Mode:       loadMode,
		Dir:        dir,
		Overlay:    overlay,
		BuildFlags: buildFlags(cfg.Tags),
	}
	pkgs, err := packages.Load(pc, ".", templates)
	if err != nil {
		return nil, errorf("loading %s: %v", dir, err)
	}
	l := loaded{cfg: cfg}
	for path := range others {
		l.others = append(l.others, path)
	}
	slices.Sort(l.others)
	for _, p := range pkgs {
		if p.PkgPath == templates && l.tmpl == nil && len(pkgs) > 1 {
			l.tmpl = p
		} else {
			l.user = p
		}
	}
	if len(pkgs) == 1 { // dir is the templates package itself
		l.tmpl = pkgs[0]
	}
	if l.tmpl == nil || l.user == nil {
		if why := goListFailure(dir, templates, pc.BuildFlags); why != "" {
			return nil, errorf("loading %s: %s", dir, why)
		}
		return nil, errorf("loading %s: go list returned %d packages, want the package and %s", dir, len(pkgs), templates)
	}
	if errs := listErrors(l.tmpl); len(errs) > 0 {
		return nil, errorf("cannot load the pool templates (%s) from %s: %v\n"+
			"\tthe module that uses poolgen must require github.com/poolgen/poolgen:\n"+
			"\tgo get -tool github.com/poolgen/poolgen/cmd/poolgen", templates, dir, errs[0].Msg)
	}
	if len(l.tmpl.Errors) > 0 {
		return nil, errorf("the pool templates do not compile (poolgen bug or version skew): %v", l.tmpl.Errors[0])
	}
	// The user's package may not compile yet, typically because it already
	// uses the pools this run generates. Only failures that leave its
	// declarations unknown stop us: go list errors and syntax errors.
	var bad ErrorList
	for _, e := range l.user.Errors {
		// go list reports the compiler's output ("# pkg\n./f.go:...") as a
		// list error when it builds export data; the same problems come
		// again as type errors, which are tolerated.
		compiler := strings.HasPrefix(e.Msg, "# ")
		if (e.Kind == packages.ListError || e.Kind == packages.UnknownError) && !compiler || e.Kind == packages.ParseError {
			bad.add(errPos(e), "%s", e.Msg)
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if l.user.Types == nil || len(l.user.Syntax) == 0 {
		return nil, errorf("no Go files in %s", dir)
	}
	return &l, nil
}

// buildFlags are the go command's flags for the build tags: load's and
// verify's.
func buildFlags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return []string{"-tags=" + strings.Join(tags, ",")}
}

// goListFailure returns what go list prints when it cannot list the package
// in dir and the templates at all ("go.mod file not found", "updates to
// go.mod needed"), or "" if it can. go/packages then returns no packages
// and no error, so the go command's own words are the best explanation.
func goListFailure(dir, templates string, buildFlags []string) string {
	args := append([]string{"list", "-e", "-f", "{{.ImportPath}}"}, buildFlags...)
	cmd := exec.Command("go", append(args, ".", templates)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		return ""
	}
	var lines []string
	for line := range strings.Lines(stderr.String()) {
		// Warnings (such as "ignoring go.mod in system temp root") are not
		// the failure.
		if line = strings.TrimRight(line, "\n"); line != "" && !strings.HasPrefix(line, "go: warning:") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// listErrors returns the errors of p that mean it could not be found.
func listErrors(p *packages.Package) []packages.Error {
	var out []packages.Error
	for _, e := range p.Errors {
		if e.Kind == packages.ListError || e.Kind == packages.UnknownError {
			out = append(out, e)
		}
	}
	return out
}

// generatedPackageName reports whether the file at path exists and is a
// poolgen output, and its package name. A file that exists without
// poolgen's header is an error: poolgen never overwrites it.
func generatedPackageName(path string) (string, bool, error) {
	src, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, errorf("%v", err)
	}
	if !isPoolgenOutput(src) {
		return "", false, errorf("refusing to overwrite %s: it exists and lacks poolgen's header "+
			"(// Code generated by \"poolgen ...\"; DO NOT EDIT.); move it away or choose another -output", filepath.Base(path))
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.PackageClauseOnly)
	if err != nil {
		return "", false, errorf("%s: %v", path, err)
	}
	return f.Name.Name, true, nil
}

// otherOutputs returns the poolgen outputs in dir other than the file at
// output, by absolute path, with their package names. Test files are not
// among them: poolgen never writes one.
func otherOutputs(dir, output string) map[string]string {
	out := map[string]string{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, name := range names {
		abs, err := filepath.Abs(name)
		if err != nil || abs == output || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(abs)
		if err != nil || !isPoolgenOutput(src) {
			continue
		}
		if f, err := parser.ParseFile(token.NewFileSet(), abs, src, parser.PackageClauseOnly); err == nil {
			out[abs] = f.Name.Name
		}
	}
	return out
}
