package gen

// This file is the second step, check. It consumes the loaded user package
// and produces the task types to generate pools for: each a defined,
// concrete type, with the patterns its directive or -pools chose, its
// directives and its tagged fields. It reads the user's package alone,
// never the templates, so that it finds every mistake in the user's
// source (a misplaced directive, an unknown pattern, a tag no task reads)
// whatever the templates ask; bind then matches what is left against the
// templates. What check finds wrong travels with its result, for bind to
// report with its own findings: one run shows everything to fix.

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// checked is check's result: the task types that passed, and the problems
// found in the user's package, which bind reports with its own.
type checked struct {
	*loaded
	tasks    []*task
	problems ErrorList
}

// task is a task type as check leaves it: what the user's package says of
// it, before anything is matched against a template.
type task struct {
	name       string
	obj        *types.TypeName
	named      *types.Named
	pos        token.Position // the type's declaration
	patterns   []string       // pool patterns to generate, in directive order
	overridden bool           // -pools chose the patterns: unused tags and handler are no error
	decl       *typeDecl      // its directives; nil if it has none
	fields     map[string]*taggedField
}

// check resolves the task types: those named by -type (with their
// directives, if any), or every type with a //poolgen:pools directive. It
// checks every directive and struct tag in the package and every task
// type. -pools, if given, overrides the directives.
func check(l *loaded) (*checked, error) {
	pkg, names, invoked := l.user, l.cfg.Types, l.cfg.Invoked
	c := &checked{loaded: l}
	errs := &c.problems
	decls := scanDirectives(pkg, errs)
	tags := scanTags(pkg, errs)

	var chosen []string
	if len(names) > 0 {
		seen := map[string]bool{}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				chosen = append(chosen, n)
			}
		}
	} else {
		for _, f := range pkg.Syntax {
			for _, td := range typeDecls(f) {
				if name := td.spec.Name.Name; decls[name] != nil && hasDirective(decls[name], "pools") {
					chosen = append(chosen, name)
				}
			}
		}
		if len(chosen) == 0 && len(*errs) == 0 {
			// A marked type that poolgen cannot see: in a test file, or in
			// a file that the build constraints exclude.
			for _, h := range hiddenTypes(pkg) {
				if h.pools {
					errs.add(h.pos, "type %s has a //poolgen:pools directive, but poolgen cannot see it: %s", h.name, h.why)
				}
			}
			if len(*errs) == 0 {
				errs.add(invoked, "no type in package %s has a //poolgen:pools directive; mark a task type or pass -type", pkg.Name)
			}
		}
	}
	tasks := slices.Clone(chosen)
	for name := range decls {
		tasks = append(tasks, name)
	}
	checkTagOwners(pkg, tags, append(tasks, generateTypes(pkg)...), errs)

	for _, name := range chosen {
		if t := checkTask(pkg, name, decls[name], l.cfg.Pools, invoked, errs); t != nil {
			c.tasks = append(c.tasks, t)
		}
	}
	return c, nil
}

// checkTask checks that name is a defined, concrete type of the package
// and reads its patterns and tagged fields, or adds errors.
func checkTask(pkg *packages.Package, name string, td *typeDecl, pools []string, invoked token.Position, errs *ErrorList) *task {
	fset := pkg.Fset
	obj, _ := pkg.Types.Scope().Lookup(name).(*types.TypeName)
	if obj == nil {
		if o := pkg.Types.Scope().Lookup(name); o != nil {
			errs.add(fset.Position(o.Pos()), "%s is not a type; -type names the task type whose pools to generate", name)
			return nil
		}
		for _, h := range hiddenTypes(pkg) {
			if h.name == name {
				errs.add(h.pos, "type %s is not in package %s as poolgen loads it: %s", name, pkg.Name, h.why)
				return nil
			}
		}
		errs.add(invoked, "no type %s in package %s", name, pkg.Name)
		return nil
	}
	pos := fset.Position(obj.Pos())
	t := &task{name: name, obj: obj, pos: pos, decl: td}

	// Patterns: -pools, else the directive's (checked either way), else
	// fixed.
	var directed []string
	if td != nil {
		for _, d := range td.dirs {
			if d.name != "pools" {
				continue
			}
			if len(d.args) == 0 {
				errs.add(fset.Position(d.at), "%spools needs at least one pattern (known: %s)", directivePrefix, strings.Join(patternNames(), ", "))
			}
			directed = append(directed, checkPatterns(d.args, d.pos, invoked, fset, errs)...)
		}
	}
	switch {
	case len(pools) > 0:
		t.patterns = checkPatterns(pools, nil, invoked, fset, errs)
		t.overridden = true
	case len(directed) > 0:
		t.patterns = directed
	default:
		t.patterns = []string{"fixed"}
	}
	if dup := duplicate(t.patterns); dup != "" {
		errs.add(pos, "pattern %q is listed twice for %s", dup, name)
	}

	if obj.IsAlias() {
		errs.add(pos, "%s is an alias; poolgen needs a defined type (type %s struct{...})", name, name)
		return nil
	}
	named, ok := obj.Type().(*types.Named)
	if !ok {
		errs.add(pos, "%s is not a defined type", name)
		return nil
	}
	if named.TypeParams().Len() > 0 {
		errs.add(pos, "%s is generic; poolgen specializes concrete types only: declare one, e.g. type %sInt struct{ %s[int] }, and generate for it", name, name, name)
		return nil
	}
	t.named = named
	t.fields = tagged(named, fset, errs)
	return t
}

func checkPatterns(words []string, at []token.Pos, invoked token.Position, fset *token.FileSet, errs *ErrorList) []string {
	var out []string
	for i, w := range words {
		if _, ok := Patterns[w]; ok {
			out = append(out, w)
			continue
		}
		pos := invoked
		if at != nil {
			pos = fset.Position(at[i])
		}
		errs.add(pos, "unknown pool pattern %q (known: %s)", w, strings.Join(patternNames(), ", "))
	}
	return out
}

func duplicate(s []string) string {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
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
