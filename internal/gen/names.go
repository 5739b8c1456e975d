package gen

// This file holds specialize's naming: the names generated code gives
// template declarations, and the checks that the names the file declares
// and imports are free in the user's package.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/packages"
)

// accessorFor names the function that stands for a template method on the
// task: resizePriority for Resize's Priority.
func accessorFor(task, method string) string { return rename(task, lowerFirst(method)) }

// rename gives a template declaration its name in generated code: an
// exported one (a pool, its constructor) prefixed by the task type's name,
// exported or not as the task type is, with New kept in front of
// constructors (NewFixedPool becomes NewResizeFixedPool); an unexported
// one (a helper only the generated code calls) prefixed by poolgen and the
// type's name (runBatch becomes poolgenResizeRunBatch), so that it never
// meets a name of the user's.
func rename(task, name string) string {
	exported := ast.IsExported(task)
	upper := upperFirst(task)
	lower := lowerFirst(task)
	if rest, ok := strings.CutPrefix(name, "New"); ok && rest != "" && ast.IsExported(rest) {
		if exported {
			return "New" + upper + rest
		}
		return "new" + upper + rest
	}
	switch {
	case !ast.IsExported(name):
		return "poolgen" + upper + upperFirst(name)
	case exported:
		return upper + name
	}
	return lower + name
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// lowerFirst lowers a leading initialism as Go style wants: HTTPJob →
// httpJob, ID → id, Resize → resize.
func lowerFirst(s string) string {
	rs := []rune(s)
	i := 0
	for i < len(rs) && unicode.IsUpper(rs[i]) {
		i++
	}
	switch {
	case i == 0:
		return s
	case i == 1 || i == len(rs):
		// Resize → resize, ID → id
	default:
		i-- // HTTPJob: keep the J of Job
	}
	for k := range i {
		rs[k] = unicode.ToLower(rs[k])
	}
	if i == 0 {
		rs[0] = unicode.ToLower(rs[0])
	}
	return string(rs)
}

// fileNames are the names given to the rewrite: the import names chosen for the file, and
// every name the generated file introduces into the package scope (which a
// template's local variable must not shadow).
type fileNames struct {
	imports    map[string]string // path → name in the generated file
	introduced map[string]bool
}

// declares returns the package-level names that the plan's code declares,
// sorted: the renamed template declarations and the accessors.
func (p *plan) declares() []string {
	var out []string
	for _, n := range p.rename {
		out = append(out, n)
	}
	for _, n := range p.accessors {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// chooseNames checks the names the generated file declares against the
// package and picks import names that no package-level name shadows.
func chooseNames(pkg *packages.Package, plans []*plan) (*fileNames, error) {
	scope := pkg.Types.Scope()
	fset := pkg.Fset
	names := &fileNames{imports: map[string]string{}, introduced: map[string]bool{}}
	var errs ErrorList
	declaredBy := map[string]*TaskSpec{}
	for _, p := range plans {
		names.introduced[p.task.Name] = true
		if p.task.Handler != nil {
			names.introduced[p.task.Handler.Name()] = true
		}
		for _, n := range p.declares() {
			if other := declaredBy[n]; other != nil && other != p.task {
				errs.add(p.task.Pos, "the pools of %s and %s would both declare %s", other.Name, p.task.Name, n)
			}
			declaredBy[n] = p.task
			names.introduced[n] = true
			if o := scope.Lookup(n); o != nil {
				errs.add(fset.Position(o.Pos()), "%s is already declared in package %s, but poolgen declares it for task type %s; "+
					"rename yours (if it is in an old poolgen output, delete that file)", n, pkg.Name, p.task.Name)
			}
		}
		var univ []string
		for n := range p.universe {
			univ = append(univ, n)
		}
		slices.Sort(univ)
		for _, n := range univ {
			if o := scope.Lookup(n); o != nil {
				errs.add(fset.Position(o.Pos()), "package %s declares %s, which shadows the predeclared %s that the generated pools use; rename it", pkg.Name, n, n)
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	// Import names: the package's own name unless something in the
	// package scope or the generated file has it; then pg<name>, pg<name>2, ...
	paths := map[string]string{"context": "context", ImplPath: "poolimpl"} // the glue's and the version guard's
	for _, p := range plans {
		for path, name := range p.imports {
			paths[path] = name
		}
	}
	sorted := make([]string, 0, len(paths))
	for path := range paths {
		sorted = append(sorted, path)
	}
	slices.Sort(sorted)
	used := map[string]bool{}
	for _, path := range sorted {
		base := paths[path]
		name := base
		for i := 1; scope.Lookup(name) != nil || names.introduced[name] || used[name] || token.IsKeyword(name); i++ {
			name = "pg" + base
			if i > 1 {
				name += fmt.Sprint(i)
			}
		}
		used[name] = true
		names.imports[path] = name
	}
	for _, n := range names.imports {
		names.introduced[n] = true
	}
	return names, nil
}

// checkOthers reports each poolgen output other than this run's output
// file that declares a name this run declares: typically the output of an
// earlier run for the same types with another -output, to be deleted.
func checkOthers(others []string, plans []*plan, outPath string) error {
	declares := map[string]bool{}
	for _, p := range plans {
		for _, n := range p.declares() {
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
