package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// TaskSpec is what poolgen knows of one task type: the internal model the
// emitter specializes the templates for.
type TaskSpec struct {
	Name     string          // the type's name, e.g. Resize
	Obj      *types.TypeName // the type
	Pointer  bool            // Run has a pointer receiver: pools hold *Name
	Patterns []string        // pool patterns to generate, in directive order
	Pos      token.Position  // the type's declaration

	// Pools are the template types to specialize: one per pattern, but
	// for priority one per ordering the task supports.
	Pools []PoolSpec
	// Bind says how each template method other than Run is met.
	Bind map[string]*Binding
	// Key is the batch key type (struct{} without a key); Handler the
	// batch handler named by //poolgen:batch.
	Key     types.Type
	Handler *types.Func

	// overridden: -pools chose the patterns, so tags and a batch handler
	// that they do not use are not errors.
	overridden bool
}

// Elem returns the Go type the pools hold: "Name" or "*Name".
func (s *TaskSpec) Elem() string {
	if s.Pointer {
		return "*" + s.Name
	}
	return s.Name
}

// typeDecl is a type declaration of the user's package and the poolgen
// directives in its doc comment.
type typeDecl struct {
	spec     *ast.TypeSpec
	dirs     []directive
	comments []*ast.Comment // the directives' comments
}

// findTasks resolves the task types: those named by types (with their
// directives, if any), or every type with a //poolgen:pools directive. It
// checks every directive in the package and every task type, and reports
// all problems at once. pools, if non-empty, overrides the directives.
func findTasks(pkg *packages.Package, tmpl *types.Package, names, pools []string, invoked token.Position) ([]*TaskSpec, error) {
	var errs ErrorList
	decls := scanDirectives(pkg, &errs)
	tags := scanTags(pkg, &errs)

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
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.TYPE {
					continue
				}
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if td := decls[ts.Name.Name]; td != nil && hasDirective(td, "pools") {
						chosen = append(chosen, ts.Name.Name)
					}
				}
			}
		}
		if len(chosen) == 0 && len(errs) == 0 {
			// A marked type that poolgen cannot see: in a test file, or in
			// a file that the build constraints exclude.
			for _, h := range hiddenTypes(pkg) {
				if h.pools {
					errs.add(h.pos, "type %s has a //poolgen:pools directive, but poolgen cannot see it: %s", h.name, h.why)
				}
			}
			if len(errs) == 0 {
				errs.add(invoked, "no type in package %s has a //poolgen:pools directive; mark a task type or pass -type", pkg.Name)
			}
		}
	}
	tasks := slices.Clone(chosen)
	for name := range decls {
		tasks = append(tasks, name)
	}
	checkTagOwners(pkg, tags, append(tasks, generateTypes(pkg)...), &errs)

	var specs []*TaskSpec
	for _, name := range chosen {
		if s := checkTask(pkg, tmpl, name, decls[name], pools, invoked, &errs); s != nil {
			specs = append(specs, s)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return specs, nil
}

// scanDirectives finds every //poolgen: comment in the package. Those in a
// type's doc comment are returned by type name; any other is an error, as
// is an unknown directive and a comment that looks like a directive but is
// not one (// poolgen:pools, with a space).
func scanDirectives(pkg *packages.Package, errs *ErrorList) map[string]*typeDecl {
	fset := pkg.Fset
	out := map[string]*typeDecl{}
	for _, f := range pkg.Syntax {
		attached := map[*ast.Comment]bool{}
		for _, td := range typeDecls(f) {
			for _, c := range td.comments {
				attached[c] = true
			}
			if len(td.dirs) > 0 {
				out[td.spec.Name.Name] = td
			}
		}
		generated := ast.IsGenerated(f)
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				dir, ok := parseDirective(c)
				if !ok {
					if why, fix, near := nearMiss(c); near && !generated {
						errs.add(fset.Position(c.Pos()), "%s is not a poolgen directive: %s; write %s", c.Text, why, fix)
					}
					continue
				}
				switch {
				case !attached[c]:
					errs.add(fset.Position(c.Pos()), "%s must be in the doc comment of a type declaration, directly above it: %s", c.Text, misplaced(f, cg, fset))
				case !slices.Contains(directiveNames, dir.name):
					if why, fix, near := nearMiss(c); near {
						errs.add(fset.Position(c.Pos()), "unknown directive %s%s: %s; write %s", directivePrefix, dir.name, why, fix)
					} else {
						errs.add(fset.Position(c.Pos()), "unknown directive %s%s (known: %spools, %sbatch)", directivePrefix, dir.name, directivePrefix, directivePrefix)
					}
				}
			}
		}
	}
	return out
}

// typeDecls returns the package-level type declarations of f, each with
// the poolgen directives of its doc comment and those comments.
func typeDecls(f *ast.File) []*typeDecl {
	var out []*typeDecl
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, s := range g.Specs {
			ts := s.(*ast.TypeSpec)
			docs := []*ast.CommentGroup{ts.Doc}
			if len(g.Specs) == 1 || !g.Lparen.IsValid() {
				docs = append(docs, g.Doc)
			}
			td := &typeDecl{spec: ts}
			for _, cg := range docs {
				if cg == nil {
					continue
				}
				for _, c := range cg.List {
					if dir, ok := parseDirective(c); ok {
						td.comments = append(td.comments, c)
						td.dirs = append(td.dirs, dir)
					}
				}
			}
			out = append(out, td)
		}
	}
	return out
}

// misplaced says where a directive that is in no type's doc comment is,
// and how to move it there.
func misplaced(f *ast.File, cg *ast.CommentGroup, fset *token.FileSet) string {
	line := func(p token.Pos) int { return fset.Position(p).Line }
	var prev, next ast.Decl
	for _, d := range f.Decls {
		start, end := declRange(d)
		switch {
		case cg.Pos() >= start && cg.End() <= end:
			return inside(d, cg, line)
		case end <= cg.Pos():
			prev = d
		case next == nil && start >= cg.End():
			next = d
		}
	}
	if name := typeName(prev); name != "" && line(cg.Pos()) == line(prev.End()) {
		return fmt.Sprintf("it follows type %s on the same line; move it to a line of its own directly above type %s", name, name)
	}
	if name := typeName(next); name != "" {
		return fmt.Sprintf("a blank line or other text separates it from type %s; "+
			"make it part of the comment block that ends on the line directly above type %s", name, name)
	}
	if name := typeName(prev); name != "" {
		return fmt.Sprintf("it follows type %s; move it to a line of its own directly above type %s", name, name)
	}
	return "move it to the doc comment of the task type"
}

// inside describes a directive inside (or in the doc comment of) the
// declaration d.
func inside(d ast.Decl, cg *ast.CommentGroup, line func(token.Pos) int) string {
	if fd, ok := d.(*ast.FuncDecl); ok {
		what := "func " + fd.Name.Name
		if fd.Recv != nil {
			what = "method " + fd.Name.Name
		}
		if fd.Doc == cg {
			return "it is in the doc comment of " + what + "; move it to the doc comment of the task type"
		}
		return "it is inside " + what + "; move it to the doc comment of the task type"
	}
	g := d.(*ast.GenDecl)
	if g.Tok != token.TYPE {
		return "it is on a " + g.Tok.String() + " declaration; move it to the doc comment of the task type"
	}
	if g.Doc == cg {
		return "it is on a type ( ... ) group of several types; move it to the doc comment of the type in the group that it is for"
	}
	for _, s := range g.Specs {
		ts := s.(*ast.TypeSpec)
		if cg.Pos() >= ts.Pos() && cg.End() <= ts.End() || line(cg.Pos()) == line(ts.End()) {
			return fmt.Sprintf("it is inside the declaration of type %s or after it on its line; move it to a line of its own directly above type %s, in its doc comment", ts.Name.Name, ts.Name.Name)
		}
	}
	return "move it to the doc comment of the type in the group that it is for"
}

// typeName returns the name of the type d declares, if d declares one
// type.
func typeName(d ast.Decl) string {
	if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE && len(g.Specs) == 1 {
		return g.Specs[0].(*ast.TypeSpec).Name.Name
	}
	return ""
}

func hasDirective(td *typeDecl, name string) bool {
	return slices.ContainsFunc(td.dirs, func(d directive) bool { return d.name == name })
}

// checkTask validates the type name and builds its spec, or adds errors.
func checkTask(pkg *packages.Package, tmpl *types.Package, name string, td *typeDecl, pools []string, invoked token.Position, errs *ErrorList) *TaskSpec {
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
	spec := &TaskSpec{Name: name, Obj: obj, Pos: pos}

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
		spec.Patterns = checkPatterns(pools, nil, invoked, fset, errs)
		spec.overridden = true
	case len(directed) > 0:
		spec.Patterns = directed
	default:
		spec.Patterns = []string{"fixed"}
	}
	if dup := duplicate(spec.Patterns); dup != "" {
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
	if !bind(spec, named, tmpl, td, fset, errs) {
		return nil
	}
	if !spec.Pointer {
		if field := lockField(named); field != "" {
			errs.add(pos, "%s's methods have value receivers, so pools would copy it by value, but its %s must not be copied (go vet copylocks); "+
				"declare func (t *%s) Run(ctx context.Context) error instead, so that the pools hold *%s", name, field, name, name)
			return nil
		}
	}
	return spec
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

// checkRun finds Run in the method set of the type or of its pointer and
// checks its signature: func(context.Context) error.
func checkRun(named *types.Named, spec *TaskSpec, fset *token.FileSet, errs *ErrorList) bool {
	name := spec.Name
	want := "Run(ctx context.Context) error"
	obj, _, _ := types.LookupFieldOrMethod(named, true, named.Obj().Pkg(), "Run")
	if obj == nil {
		errs.add(spec.Pos, "%s has no Run method; a task type needs func (t %s) %s (or a pointer receiver)", name, name, want)
		return false
	}
	fn, ok := obj.(*types.Func)
	if !ok {
		errs.add(fset.Position(obj.Pos()), "%s.Run is a field, not a method; a task type needs func (t %s) %s", name, name, want)
		return false
	}
	sig := fn.Type().(*types.Signature)
	if !isRunSignature(sig) {
		errs.add(fset.Position(fn.Pos()), "%s.Run has signature %s; poolgen needs %s",
			name, types.TypeString(sig, types.RelativeTo(named.Obj().Pkg())), want)
		return false
	}
	// Pointer receiver if Run is not in the value's method set.
	spec.Pointer = types.NewMethodSet(named).Lookup(named.Obj().Pkg(), "Run") == nil
	return true
}

func isRunSignature(sig *types.Signature) bool {
	if sig.Variadic() || sig.Params().Len() != 1 || sig.Results().Len() != 1 {
		return false
	}
	ctx, ok := types.Unalias(sig.Params().At(0).Type()).(*types.Named)
	if !ok || ctx.Obj().Pkg() == nil || ctx.Obj().Pkg().Path() != "context" || ctx.Obj().Name() != "Context" {
		return false
	}
	return types.Identical(sig.Results().At(0).Type(), types.Universe.Lookup("error").Type())
}

// lockField describes the first field of t that must not be copied, as go
// vet's copylocks sees it (a value whose pointer has Lock and Unlock
// methods: sync.Mutex, sync.WaitGroup, the no-copy guard inside sync/atomic
// types, ...), e.g. "field mu of type sync.Mutex", or returns "" if there
// is none.
func lockField(t types.Type) string {
	qual := func(p *types.Package) string { return p.Name() }
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if f := u.Field(i); hasLock(f.Type(), map[types.Type]bool{}) {
				return "field " + f.Name() + " of type " + types.TypeString(f.Type(), qual)
			}
		}
	case *types.Array:
		if hasLock(u.Elem(), map[types.Type]bool{}) {
			return "its elements of type " + types.TypeString(u.Elem(), qual)
		}
	}
	return ""
}

// hasLock reports whether a value of type t holds a lock. Pointers, slices,
// maps and channels are not followed: copying them copies no lock.
func hasLock(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if n, ok := types.Unalias(t).(*types.Named); ok {
		if _, isIface := n.Underlying().(*types.Interface); !isIface {
			ms := types.NewMethodSet(types.NewPointer(n))
			if ms.Lookup(n.Obj().Pkg(), "Lock") != nil && ms.Lookup(n.Obj().Pkg(), "Unlock") != nil {
				return true
			}
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if hasLock(u.Field(i).Type(), seen) {
				return true
			}
		}
	case *types.Array:
		return hasLock(u.Elem(), seen)
	}
	return false
}
