package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build/constraint"
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
// specializes, RuntimePath that of the runtime generated code imports, and
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
	// others are the package directory's poolgen outputs other than the
	// output file, emptied for the load.
	others []string
}

// load type-checks the package in dir and the templates in one go list
// run. The file at output, if it is an earlier poolgen output, is replaced
// by an empty file for the load: stale generated code must neither fail
// the load nor collide with what is about to replace it. So is every other
// poolgen output in dir: one written by another run, or by an earlier run
// with another -output, which Generate then reports if it declares what
// this run does.
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
	others := otherOutputs(dir, output)
	for path, name := range others {
		overlay[path] = []byte("package " + name + "\n")
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
	for path := range others {
		l.others = append(l.others, path)
	}
	slices.Sort(l.others)
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

// checkOthers reports each poolgen output other than this run's output
// file that declares a name this run declares: typically the output of an
// earlier run for the same types with another -output, to be deleted.
func checkOthers(others []string, plans []*plan, outPath string) error {
	declares := map[string]bool{}
	for _, p := range plans {
		for _, n := range p.rename {
			declares[n] = true
		}
		for _, n := range p.accessors {
			declares[n] = true
		}
	}
	var errs ErrorList
	for _, path := range others {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			continue // stale beyond repair: the type check of the result reports it
		}
		var both []string
		for _, d := range f.Decls {
			for _, n := range declNames(d) {
				if declares[n] && !slices.Contains(both, n) {
					both = append(both, n)
				}
			}
		}
		if len(both) == 0 {
			continue
		}
		what := both[0]
		switch len(both) {
		case 1:
		case 2:
			what += " and 1 more name"
		default:
			what += fmt.Sprintf(" and %d more names", len(both)-1)
		}
		base := filepath.Base(path)
		errs.add(token.Position{Filename: path, Line: 1, Column: 1},
			"%s was written by an earlier poolgen run and declares %s that this run declares in %s; delete %s",
			base, what, filepath.Base(outPath), base)
	}
	return errs.err()
}

// declNames returns the package-level names a declaration declares.
func declNames(d ast.Decl) []string {
	var out []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			out = append(out, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				out = append(out, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					out = append(out, n.Name)
				}
			}
		}
	}
	return out
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

// hiddenType is a type declared in a file of the package's directory that
// poolgen does not load: a test file, or one that the build constraints
// exclude.
type hiddenType struct {
	name  string
	pos   token.Position
	pools bool   // its doc comment has a //poolgen:pools directive
	why   string // why poolgen does not see it, and what to do
}

// hiddenTypes parses the package's test files and the files that its build
// constraints exclude, which go/packages does not type-check, for their
// type declarations.
func hiddenTypes(pkg *packages.Package) []hiddenType {
	files := slices.Clone(pkg.IgnoredFiles)
	if len(pkg.GoFiles) > 0 {
		tests, _ := filepath.Glob(filepath.Join(filepath.Dir(pkg.GoFiles[0]), "*_test.go"))
		files = append(files, tests...)
	}
	slices.Sort(files)
	var out []hiddenType
	for _, path := range slices.Compact(files) {
		if !strings.HasSuffix(path, ".go") {
			continue
		}
		f, err := parser.ParseFile(pkg.Fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, td := range typeDecls(f) {
			name := td.spec.Name.Name
			out = append(out, hiddenType{
				name:  name,
				pos:   pkg.Fset.Position(td.spec.Name.Pos()),
				pools: hasDirective(td, "pools"),
				why:   whyHidden(f, path, name),
			})
		}
	}
	return out
}

// whyHidden says why poolgen does not load the file at path, which
// declares type name, and what to do.
func whyHidden(f *ast.File, path, name string) string {
	base := filepath.Base(path)
	if strings.HasSuffix(base, "_test.go") {
		return fmt.Sprintf("%s is a test file, which poolgen does not load; move %s to a file whose name does not end in _test.go", base, name)
	}
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			expr, err := constraint.Parse(c.Text)
			if err != nil || !constraint.IsGoBuild(c.Text) {
				continue
			}
			var tags []string
			var walk func(x constraint.Expr)
			walk = func(x constraint.Expr) {
				switch x := x.(type) {
				case *constraint.TagExpr:
					if !slices.Contains(tags, x.Tag) {
						tags = append(tags, x.Tag)
					}
				case *constraint.AndExpr:
					walk(x.X)
					walk(x.Y)
				case *constraint.OrExpr:
					walk(x.X)
					walk(x.Y)
				}
			}
			walk(expr)
			fix := "pass poolgen the -tags that satisfy it (in the //go:generate line), or move " + name + " to a file without it"
			if len(tags) > 0 {
				fix = "pass -tags=" + strings.Join(tags, ",") + " to poolgen (in the //go:generate line), or move " + name + " to a file without the constraint"
			}
			return fmt.Sprintf("its file %s is excluded from the package by its build constraint %s; %s", base, c.Text, fix)
		}
	}
	return fmt.Sprintf("its file %s is excluded from this build by its name (a GOOS or GOARCH suffix); move %s to a file that builds here, or run poolgen with that GOOS or GOARCH", base, name)
}
