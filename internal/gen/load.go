package gen

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// TemplatesPath is the import path of the generic pools that poolgen
// specialises, RuntimePath that of the runtime generated code imports, and
// ImplPath that of the pools' implementation, which only generated code
// (and package templates) uses.
const (
	TemplatesPath = "github.com/poolgen/poolgen/templates"
	RuntimePath   = "github.com/poolgen/poolgen/runtime"
	ImplPath      = "github.com/poolgen/poolgen/runtime/poolimpl"
)

const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule

// loaded is the user's package and the templates, type-checked.
type loaded struct {
	user, tmpl *packages.Package
}

// load type-checks the package in dir and the templates in one go list
// run. The file at output, if it is an earlier poolgen output, is replaced
// by an empty file for the load: stale generated code must neither fail
// the load nor collide with what is about to replace it.
func load(dir string, tags []string, output string) (*loaded, error) {
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
	cfg := &packages.Config{
		Mode:    loadMode,
		Dir:     dir,
		Overlay: overlay,
	}
	if len(tags) > 0 {
		cfg.BuildFlags = []string{"-tags=" + strings.Join(tags, ",")}
	}
	pkgs, err := packages.Load(cfg, ".", TemplatesPath)
	if err != nil {
		return nil, errorf("loading %s: %v", dir, err)
	}
	var l loaded
	for _, p := range pkgs {
		if p.PkgPath == TemplatesPath && l.tmpl == nil && len(pkgs) > 1 {
			l.tmpl = p
		} else {
			l.user = p
		}
	}
	if len(pkgs) == 1 { // dir is the templates package itself
		l.tmpl = pkgs[0]
	}
	if l.tmpl == nil || l.user == nil {
		if why := goListFailure(dir, cfg.BuildFlags); why != "" {
			return nil, errorf("loading %s: %s", dir, why)
		}
		return nil, errorf("loading %s: go list returned %d packages, want the package and %s", dir, len(pkgs), TemplatesPath)
	}
	if errs := listErrors(l.tmpl); len(errs) > 0 {
		return nil, errorf("cannot load the pool templates (%s) from %s: %v\n"+
			"\tthe module that uses poolgen must require github.com/poolgen/poolgen:\n"+
			"\tgo get -tool github.com/poolgen/poolgen/cmd/poolgen", TemplatesPath, dir, errs[0].Msg)
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

// goListFailure returns what go list prints when it cannot list the package
// in dir and the templates at all ("go.mod file not found", "updates to
// go.mod needed"), or "" if it can. go/packages then returns no packages
// and no error, so the go command's own words are the best explanation.
func goListFailure(dir string, buildFlags []string) string {
	args := append([]string{"list", "-e", "-f", "{{.ImportPath}}"}, buildFlags...)
	cmd := exec.Command("go", append(args, ".", TemplatesPath)...)
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

// errPos parses the "file:line:col" position go/packages reports.
func errPos(e packages.Error) token.Position {
	var p token.Position
	if e.Pos == "" || e.Pos == "-" {
		return p
	}
	parts := strings.Split(e.Pos, ":")
	p.Filename = parts[0]
	if len(parts) > 1 {
		fmt.Sscan(parts[1], &p.Line)
	}
	if len(parts) > 2 {
		fmt.Sscan(parts[2], &p.Column)
	}
	if p.Line == 0 {
		p.Line = 1
	}
	return p
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

// headerPrefix starts the first line of every file poolgen writes.
const headerPrefix = "// Code generated by \"poolgen"

// isPoolgenOutput reports whether src carries poolgen's generated-code
// header on a line before the package clause.
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
