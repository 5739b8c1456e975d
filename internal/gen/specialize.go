package gen

// This file is the fourth step, specialize. It consumes bind's model of
// each task type and produces, for each, the template code it needs
// rewritten for it and printed, with the names the file will declare and
// import. It is the one step that reads template code: it picks the
// declarations a task's pools need (plan), holds them to the rules for
// template code (rules.go), checks the names they will declare against
// the user's package (names.go), and rewrites them (rewrite.go).

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"os"
	"slices"

	"golang.org/x/tools/go/packages"
)

// specialized is specialize's result: each task type's specialized
// template code, and the names the file gives its imports.
type specialized struct {
	*loaded
	names *fileNames
	tasks []*specializedTask
}

// specializedTask is one task type's share of the file: its model, the
// accessors that its pools call, and its specialized template code.
type specializedTask struct {
	spec      *TaskSpec
	accessors map[string]string // method → the generated function that reads its tagged field
	timeout   string            // the generated function that returns its timeout field's reader, or ""
	code      []byte
}

// specialize plans the template code of every task type, checks the plans
// against the rules for template code and against the user's package (and
// the poolgen outputs that stand beside the output file), then rewrites
// each plan's code for its task type.
func specialize(b *bound) (*specialized, error) {
	var plans []*plan
	var errs ErrorList
	for _, spec := range b.tasks {
		t, err := parseTemplates(b.tmpl, b.cfg.Templates)
		if err != nil {
			return nil, err
		}
		p, broken := planFor(t, spec)
		errs = append(errs, broken...)
		plans = append(plans, p)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if err := checkOthers(b.others, plans, b.cfg.Output); err != nil {
		return nil, err
	}
	names, err := chooseNames(b.user, plans)
	if err != nil {
		return nil, err
	}
	s := &specialized{loaded: b.loaded, names: names}
	for _, p := range plans {
		code, err := p.rewrite(names)
		if err != nil {
			return nil, err
		}
		s.tasks = append(s.tasks, &specializedTask{spec: p.task, accessors: p.accessors, timeout: p.timeout, code: code})
	}
	return s, nil
}

// A template is the templates package parsed afresh and type-checked, so
// that one task type's rewrite, which edits the syntax in place, never
// sees another's.
type template struct {
	fset  *token.FileSet
	files []*ast.File
	pkg   *types.Package
	info  *types.Info
}

// parseTemplates parses and type-checks the files of the templates, whose
// import path is path. The imports come from the loaded package, so there
// is no second go list run. Positions keep the files' full paths, for
// errors that point at template code.
func parseTemplates(tp *packages.Package, path string) (*template, error) {
	t := &template{fset: token.NewFileSet()}
	for _, name := range tp.GoFiles {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, errorf("reading template: %v", err)
		}
		f, err := parser.ParseFile(t.fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, errorf("parsing template: %v", err)
		}
		t.files = append(t.files, f)
	}
	imports := map[string]*types.Package{}
	for _, p := range tp.Types.Imports() {
		imports[p.Path()] = p
	}
	t.info = &types.Info{
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Instances:  map[*ast.Ident]types.Instance{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Types:      map[ast.Expr]types.TypeAndValue{},
	}
	conf := types.Config{Importer: importerFunc(func(path string) (*types.Package, error) {
		if p := imports[path]; p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("template import %q not loaded", path)
	})}
	pkg, err := conf.Check(path, t.fset, t.files, t.info)
	if err != nil {
		return nil, errorf("type-checking templates: %v", err)
	}
	t.pkg = pkg
	return t, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// unit is one top-level declaration of the templates: emitted whole or not
// at all.
type unit struct {
	file    *ast.File
	decl    ast.Decl
	defines []types.Object // package-level objects it declares
	refs    []types.Object // package-level template objects it uses
	methods []*unit        // for a type declaration: its methods
}

// plan is what one task type needs from the templates: the declarations
// to emit, their new names, and the imports and predeclared names they use.
type plan struct {
	task  *TaskSpec
	t     *template
	units []*unit
	// handlerType is the templates' batch handler type, or nil.
	handlerType *types.TypeName
	// params gives the role of each type parameter of the units
	// (ruleTypeParams), as checkTypeParams found it.
	params map[*types.TypeName]paramRole
	// keys gives the type each key type parameter becomes.
	keys     map[*types.TypeName]types.Type
	rename   map[types.Object]string
	imports  map[string]string // path → package name, for imports the units use
	universe map[string]token.Pos
	// accessors names the generated function reading each tagged field
	// (and the constant batch key of a task without one), by method.
	accessors map[string]string
	// timeout names the function that glue emits in place of the
	// templates' timeoutOf, for a task with a timeout field.
	timeout string
}

// planFor selects the declarations that the task's pools need, names them,
// and checks them against the rules for template code. It returns the
// rules they break.
func planFor(t *template, spec *TaskSpec) (*plan, ErrorList) {
	p := &plan{task: spec, t: t, handlerType: handlerType(t.pkg), params: map[*types.TypeName]paramRole{}, keys: map[*types.TypeName]types.Type{},
		rename: map[types.Object]string{}, imports: map[string]string{}, universe: map[string]token.Pos{}, accessors: map[string]string{}}
	var errs ErrorList
	p.units = p.reach(p.poolFiles(&errs))
	p.name(&errs)
	if spec.Timeout != nil {
		p.replaceTimeoutOf()
	}
	for _, u := range p.units {
		errs = append(errs, p.checkDecl(u.decl)...)
	}
	return p, errs
}

// replaceTimeoutOf names the function that glue emits in place of the
// templates' timeoutOf, which reads a Timeout method, for a task that has
// a timeout field instead: reach left timeoutOf and what only it uses
// out of the plan.
func (p *plan) replaceTimeoutOf() {
	obj := p.t.pkg.Scope().Lookup("timeoutOf")
	p.timeout = rename(p.task.Name, obj.Name())
	p.rename[obj] = p.timeout
	addTypeImports(p.task.Timeout.Result, p.task.Obj.Pkg(), p.imports)
}

// poolFiles returns the files of the task's pool types, checking that no
// other pool type shares one (ruleFiles).
func (p *plan) poolFiles(errs *ErrorList) []*ast.File {
	t := p.t
	fileOf := func(o types.Object) *ast.File {
		for _, f := range t.files {
			if f.FileStart <= o.Pos() && o.Pos() < f.FileEnd {
				return f
			}
		}
		return nil
	}
	var out []*ast.File
	for _, pool := range p.task.Pools {
		root := t.pkg.Scope().Lookup(pool.Type) // bind found it
		f := fileOf(root)
		out = append(out, f)
		for _, pattern := range patternNames() {
			for _, other := range Patterns[pattern] {
				if o := t.pkg.Scope().Lookup(other); o != nil && other != pool.Type && fileOf(o) == f {
					errs.broke(t.fset.Position(o.Pos()), ruleFiles, "%s is declared in the file of %s, which a run emits whole for %s's pools; give each pool type a file of its own",
						other, pool.Type, pool.Type)
				}
			}
		}
	}
	return out
}

// reach returns every declaration of the files and, transitively, every
// declaration of the templates that those use and the methods of the
// types among them, in the templates' order. The constraints of type
// parameters are not uses (they vanish in the rewrite), nor, for a task
// type with a handler, is the handler type.
func (p *plan) reach(files []*ast.File) []*unit {
	t := p.t
	var units []*unit
	byObj := map[types.Object]*unit{}
	var methods []*unit
	for _, f := range t.files {
		for _, d := range f.Decls {
			u := &unit{file: f, decl: d}
			switch d := d.(type) {
			case *ast.FuncDecl:
				obj := t.info.Defs[d.Name]
				if d.Recv != nil {
					methods = append(methods, u)
				} else {
					u.defines = append(u.defines, obj)
				}
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					continue
				}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						u.defines = append(u.defines, t.info.Defs[s.Name])
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" {
								u.defines = append(u.defines, t.info.Defs[n])
							}
						}
					}
				}
			}
			u.refs = refs(t, d)
			for _, o := range u.defines {
				byObj[o] = u
			}
			units = append(units, u)
		}
	}
	for _, m := range methods {
		recv := recvBase(m.decl.(*ast.FuncDecl))
		if owner := byObj[t.info.Uses[recv]]; owner != nil {
			owner.methods = append(owner.methods, m)
		}
	}

	// A task with a timeout field reads it with a function glue emits in
	// place of timeoutOf (replaceTimeoutOf): timeoutOf, and what only it
	// uses, stay out.
	var replaced *unit
	if p.task.Timeout != nil {
		replaced = byObj[t.pkg.Scope().Lookup("timeoutOf")]
	}
	reached := map[*unit]bool{replaced: true}
	var work []*unit
	for _, u := range units {
		if slices.Contains(files, u.file) {
			reached[u] = true
			work = append(work, u)
		}
	}
	for len(work) > 0 {
		u := work[len(work)-1]
		work = work[:len(work)-1]
		next := slices.Clone(u.methods)
		for _, o := range u.refs {
			if p.task.Handler != nil && o == p.handlerType {
				continue // bound to the user's function: the type vanishes
			}
			if d := byObj[o]; d != nil {
				next = append(next, d)
			}
		}
		for _, d := range next {
			if !reached[d] {
				reached[d] = true
				work = append(work, d)
			}
		}
	}
	var out []*unit
	for _, u := range units {
		if reached[u] && u != replaced {
			out = append(out, u)
		}
	}
	return out
}

// name gives each declaration of the plan its name in generated code
// (ruleNames), and records the accessors, imports and predeclared names
// that the code will use: not those that only code the rewrite removes
// uses.
func (p *plan) name(errs *ErrorList) {
	t, spec := p.t, p.task
	for m, b := range spec.Bind {
		if !b.Own {
			p.accessors[m] = accessorFor(spec.Name, m)
		}
	}
	// Packages the task's key and accessor types come from.
	for _, b := range spec.Bind {
		if b.Result != nil {
			addTypeImports(b.Result, spec.Obj.Pkg(), p.imports)
		}
	}
	taken := map[string]types.Object{}
	for _, u := range p.units {
		for _, o := range u.defines {
			n := rename(spec.Name, o.Name())
			if prev := taken[n]; prev != nil {
				errs.broke(t.fset.Position(o.Pos()), ruleNames, "%s and %s both become %s for task type %s; rename one", prev.Name(), o.Name(), n, spec.Name)
			}
			taken[n] = o
			p.rename[o] = n
		}
		p.inspectKept(u.decl, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			switch o := t.info.Uses[id].(type) {
			case *types.PkgName:
				p.imports[o.Imported().Path()] = o.Imported().Name()
			default:
				if o != nil && o.Parent() == types.Universe {
					if _, seen := p.universe[o.Name()]; !seen {
						p.universe[o.Name()] = id.Pos()
					}
				}
			}
			return true
		})
	}
}

// addTypeImports records the packages type t mentions, other than the
// user's own.
func addTypeImports(t types.Type, own *types.Package, into map[string]string) {
	types.TypeString(t, func(p *types.Package) string {
		if p != own {
			into[p.Path()] = p.Name()
		}
		return p.Name()
	})
}

// typeExpr writes type t as it reads in the generated file.
func typeExpr(t types.Type, own *types.Package, names *fileNames) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == own {
			return ""
		}
		return names.imports[p.Path()]
	})
}

// refs returns the package-level template objects decl uses, not counting
// type parameter constraints (they vanish in the specialization).
func refs(t *template, decl ast.Decl) []types.Object {
	scope := t.pkg.Scope()
	var out []types.Object
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncType:
			if n.TypeParams != nil {
				for _, f := range []*ast.FieldList{n.Params, n.Results} {
					if f != nil {
						ast.Inspect(f, visit)
					}
				}
				return false
			}
		case *ast.TypeSpec:
			if n.TypeParams != nil {
				ast.Inspect(n.Type, visit)
				return false
			}
		case *ast.Ident:
			if o := t.info.Uses[n]; o != nil && o.Parent() == scope {
				out = append(out, o)
			}
		}
		return true
	}
	ast.Inspect(decl, visit)
	return out
}

// recvBase returns the receiver's base type name of a method.
func recvBase(fd *ast.FuncDecl) *ast.Ident {
	x := fd.Recv.List[0].Type
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	switch e := x.(type) {
	case *ast.IndexExpr:
		x = e.X
	case *ast.IndexListExpr:
		x = e.X
	}
	id, _ := x.(*ast.Ident)
	return id
}

// print prints the plan's rewritten declarations, file by file in the
// templates' order so that comments keep their places, with their comments
// rewritten for the task type.
func (p *plan) print(names *fileNames) ([]byte, error) {
	t := p.t
	words := commentWords{exported: map[string]string{}, imports: map[string]string{}}
	for o, n := range p.rename {
		if ast.IsExported(o.Name()) {
			words.exported[o.Name()] = n
		}
	}
	// Qualified references in comments (poolrt.OnPanic) follow renamed
	// imports.
	for path, name := range p.imports {
		if alias := names.imports[path]; alias != name {
			words.imports[name] = alias
		}
	}
	var out bytes.Buffer
	for _, f := range t.files {
		var decls []ast.Decl
		var comments []*ast.CommentGroup
		for _, u := range p.units {
			if u.file != f {
				continue
			}
			decls = append(decls, u.decl)
			p.rewriteDoc(u.decl)
			words.params = p.paramWords(u.decl)
			start, end := declRange(u.decl)
			for _, cg := range f.Comments {
				if cg.Pos() >= start && cg.End() <= end {
					for _, c := range cg.List {
						c.Text = rewriteComment(c.Text, words)
					}
					comments = append(comments, cg)
				}
			}
		}
		if len(decls) == 0 {
			continue
		}
		synthetic := &ast.File{Name: f.Name, Package: f.Package, Decls: decls, Comments: comments}
		var b bytes.Buffer
		cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
		if err := cfg.Fprint(&b, t.fset, synthetic); err != nil {
			return nil, errorf("printing specialized %s: %v", f.Name.Name, err)
		}
		body := b.Bytes()
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:] // drop "package templates"
		}
		out.Write(bytes.TrimSpace(body))
		out.WriteString("\n\n")
	}
	return out.Bytes(), nil
}

// paramWords maps the name of decl's task type parameter to the type it
// becomes, for comments: T to Resize or *Resize.
func (p *plan) paramWords(decl ast.Decl) map[string]string {
	out := map[string]string{}
	for o, role := range p.params {
		if role == taskParam && decl.Pos() <= o.Pos() && o.Pos() < decl.End() {
			out[o.Name()] = p.task.Elem()
		}
	}
	return out
}

// declRange is the span of a declaration with its doc comment.
func declRange(d ast.Decl) (token.Pos, token.Pos) {
	start := d.Pos()
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Doc != nil {
			start = d.Doc.Pos()
		}
	case *ast.GenDecl:
		if d.Doc != nil {
			start = d.Doc.Pos()
		}
	}
	return start, d.End()
}
