package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/packages"
)

// A template is the templates package parsed afresh and type-checked, so
// that one task type's rewrite never sees another's.
type template struct {
	fset  *token.FileSet
	files []*ast.File
	pkg   *types.Package
	info  *types.Info
}

// parseTemplates parses and type-checks the templates package's files. The
// imports come from the already loaded package, so no second go list run.
func parseTemplates(tp *packages.Package) (*template, error) {
	t := &template{fset: token.NewFileSet()}
	for _, name := range tp.GoFiles {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, errorf("reading template: %v", err)
		}
		f, err := parser.ParseFile(t.fset, filepath.Base(name), src, parser.ParseComments|parser.SkipObjectResolution)
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
	pkg, err := conf.Check(TemplatesPath, t.fset, t.files, t.info)
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
	order   int
}

// plan is what one task type needs from the templates: the declarations
// to emit, their new names, and the imports and predeclared names they use.
type plan struct {
	spec     *TaskSpec
	t        *template
	units    []*unit
	rename   map[types.Object]string
	imports  map[string]string // path → package name, for imports the units use
	universe map[string]token.Pos
	// accessors names the generated function reading each tagged field
	// (and the constant batch key of a task without one), by method.
	accessors map[string]string
}

// accessorFor names the function that stands for a template method on the
// task: resizePriority for Resize's Priority.
func accessorFor(task, method string) string { return rename(task, lowerFirst(method)) }

// planFor selects the declarations reachable from the pattern types of spec.
func planFor(t *template, spec *TaskSpec) (*plan, error) {
	scope := t.pkg.Scope()
	var units []*unit
	byObj := map[types.Object]*unit{}
	var methods []*unit
	for _, f := range t.files {
		for _, d := range f.Decls {
			u := &unit{file: f, decl: d, order: len(units)}
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

	// Roots: every declaration in the patterns' files.
	reached := map[*unit]bool{}
	var work []*unit
	for _, pool := range spec.Pools {
		root := scope.Lookup(pool.Type)
		if root == nil {
			return nil, errorf("the templates have no %s for pattern %q (poolgen and its templates are out of step)", pool.Type, pool.Pattern)
		}
		file := t.fset.File(root.Pos()).Name()
		for _, u := range units {
			if t.fset.File(u.decl.Pos()).Name() == file && !reached[u] {
				reached[u] = true
				work = append(work, u)
			}
		}
	}
	for len(work) > 0 {
		u := work[len(work)-1]
		work = work[:len(work)-1]
		next := slices.Clone(u.methods)
		for _, o := range u.refs {
			if spec.Handler != nil && o.Name() == "BatchHandler" {
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

	p := &plan{spec: spec, t: t, rename: map[types.Object]string{}, imports: map[string]string{}, universe: map[string]token.Pos{},
		accessors: map[string]string{}}
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
	if spec.Key != nil {
		addTypeImports(spec.Key, spec.Obj.Pkg(), p.imports)
	}
	for _, u := range units {
		if reached[u] {
			p.units = append(p.units, u)
		}
	}
	sort.Slice(p.units, func(i, j int) bool { return p.units[i].order < p.units[j].order })

	taken := map[string]types.Object{}
	for _, u := range p.units {
		for _, o := range u.defines {
			n := rename(spec.Name, o.Name())
			if prev := taken[n]; prev != nil {
				return nil, errorf("templates %s and %s both become %s for task type %s (rename one in templates/)", prev.Name(), o.Name(), n, spec.Name)
			}
			taken[n] = o
			p.rename[o] = n
		}
		ast.Inspect(u.decl, func(n ast.Node) bool {
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
	return p, nil
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

// names given to the rewrite: the import names chosen for the file, and
// every name the generated file introduces into the package scope (which a
// template's local variable must not shadow).
type fileNames struct {
	imports    map[string]string // path → name in the generated file
	introduced map[string]bool
}

// specialize rewrites the plan's declarations for its task type and prints
// them.
func (p *plan) specialize(names *fileNames) ([]byte, error) {
	t, spec := p.t, p.spec
	taskExpr := func(pos token.Pos) ast.Expr {
		id := &ast.Ident{NamePos: pos, Name: spec.Name}
		if spec.Pointer {
			return &ast.StarExpr{Star: pos, X: id}
		}
		return id
	}
	var keySrc string
	if spec.Key != nil {
		keySrc = typeExpr(spec.Key, spec.Obj.Pkg(), names)
	}
	keyExpr := func(pos token.Pos) (ast.Expr, error) {
		if keySrc == "" {
			return nil, errorf("template uses a key type parameter, but %s's pools have no key (poolgen bug)", spec.Name)
		}
		return parser.ParseExpr(keySrc)
	}
	// The batch handler: fields and parameters of the template's handler
	// type vanish, calls through them call the user's function, and
	// statements that use them otherwise (nil checks) are generic-only.
	isHandler := func(o types.Object) bool {
		v, ok := o.(*types.Var)
		if !ok || spec.Handler == nil {
			return false
		}
		n, ok := types.Unalias(v.Type()).(*types.Named)
		return ok && n.Origin().Obj().Pkg() == t.pkg && n.Origin().Obj().Name() == "BatchHandler"
	}
	handlerUse := func(n ast.Node) bool { // a use other than a call or a definition
		found := false
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isHandler(t.info.Uses[callee(n)]) {
					for _, a := range n.Args {
						ast.Inspect(a, func(m ast.Node) bool {
							if id, ok := m.(*ast.Ident); ok && isHandler(t.info.Uses[id]) {
								found = true
							}
							return true
						})
					}
					return false
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && isHandler(t.info.Uses[id]) {
					return false
				}
			case *ast.Ident:
				if isHandler(t.info.Uses[n]) {
					found = true
				}
			}
			return true
		})
		return found
	}
	isGeneric := func(o types.Object) bool {
		if o == nil || o.Parent() != t.pkg.Scope() {
			return false
		}
		switch o := o.(type) {
		case *types.TypeName:
			n, ok := o.Type().(*types.Named)
			return ok && n.TypeParams().Len() > 0
		case *types.Func:
			return o.Type().(*types.Signature).TypeParams().Len() > 0
		}
		return false
	}
	isTypeParam := func(o types.Object) bool {
		tn, ok := o.(*types.TypeName)
		if !ok {
			return false
		}
		_, ok = tn.Type().(*types.TypeParam)
		return ok
	}

	// Locals whose names a generated package-level name would shadow (or
	// that would shadow one) get fresh names.
	allIdents := map[string]bool{}
	for _, f := range t.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				allIdents[id.Name] = true
			}
			return true
		})
	}
	localRename := map[types.Object]string{}
	fresh := func(o types.Object) string {
		if n, ok := localRename[o]; ok {
			return n
		}
		n := o.Name()
		for names.introduced[n] || allIdents[n] {
			n += "_"
		}
		localRename[o] = n
		return n
	}

	var out bytes.Buffer
	var errs ErrorList
	for _, u := range p.units {
		// Type parameter lists go: the type parameter is now the task type.
		switch d := u.decl.(type) {
		case *ast.FuncDecl:
			d.Type.TypeParams = nil
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					ts.TypeParams = nil
				}
			}
		}
		astutil.Apply(u.decl, func(c *astutil.Cursor) bool {
			switch n := c.Node().(type) {
			case ast.Stmt:
				if _, inList := c.Parent().(*ast.BlockStmt); inList && spec.Handler != nil && handlerUse(n) {
					c.Delete()
					return false
				}
			case *ast.Field:
				if len(n.Names) > 0 && isHandler(t.info.Defs[n.Names[0]]) {
					c.Delete()
					return false
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && isHandler(t.info.Uses[id]) {
					c.Delete()
					return false
				}
			}
			return true
		}, func(c *astutil.Cursor) bool {
			switch n := c.Node().(type) {
			case *ast.CallExpr:
				if o := t.info.Uses[callee(n)]; isHandler(o) {
					n.Fun = &ast.Ident{NamePos: n.Fun.Pos(), Name: spec.Handler.Name()}
					return true
				}
				// A template method other than Run, met by a field:
				// call the accessor, which reads it directly.
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if s := t.info.Selections[sel]; s != nil && isTypeParamRecv(s.Recv()) {
						if acc := p.accessors[sel.Sel.Name]; acc != "" {
							c.Replace(&ast.CallExpr{Fun: &ast.Ident{NamePos: n.Pos(), Name: acc}, Lparen: n.Lparen, Args: []ast.Expr{sel.X}, Rparen: n.Rparen})
						}
					}
				}
			case *ast.IndexExpr:
				if id, ok := n.X.(*ast.Ident); ok && isGeneric(t.info.Uses[id]) {
					c.Replace(n.X) // FixedPool[T] → ResizeFixedPool (renamed below)
				}
			case *ast.IndexListExpr:
				if id, ok := n.X.(*ast.Ident); ok && isGeneric(t.info.Uses[id]) {
					c.Replace(n.X) // BatchPool[T, K] → OrderBatchPool
				}
			case *ast.Ident:
				o := t.info.Uses[n]
				if o == nil {
					o = t.info.Defs[n]
				}
				if o == nil {
					return true
				}
				switch {
				case isTypeParam(o):
					if o.Name() != "K" { // T is the task type, K the batch key type
						c.Replace(taskExpr(n.Pos()))
						break
					}
					k, err := keyExpr(n.Pos())
					if err != nil {
						errs = append(errs, err.(*Error))
						break
					}
					c.Replace(k)
				case o.Parent() == t.pkg.Scope():
					n.Name = p.rename[o]
				default:
					if pn, ok := o.(*types.PkgName); ok {
						n.Name = names.imports[pn.Imported().Path()]
					} else if isLocal(o) && names.introduced[o.Name()] {
						n.Name = fresh(o)
					}
				}
			}
			return true
		})
		errs = append(errs, indexArgsNotTypeParams(t, u.decl)...)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}

	// Print per template file, so that comments keep their places.
	exported := map[string]string{}
	for o, n := range p.rename {
		if ast.IsExported(o.Name()) {
			exported[o.Name()] = n
		}
	}
	// Qualified references in comments (poolrt.OnPanic) follow renamed
	// imports.
	importRenames := map[string]string{}
	for path, name := range p.imports {
		if alias := names.imports[path]; alias != name {
			importRenames[name] = alias
		}
	}
	for _, f := range t.files {
		var decls []ast.Decl
		var comments []*ast.CommentGroup
		for _, u := range p.units {
			if u.file != f {
				continue
			}
			decls = append(decls, u.decl)
			start, end := declRange(u.decl)
			for _, cg := range f.Comments {
				if cg.Pos() >= start && cg.End() <= end {
					comments = append(comments, cg)
				}
			}
			rewriteDoc(u, p)
		}
		if len(decls) == 0 {
			continue
		}
		for _, cg := range comments {
			for _, c := range cg.List {
				c.Text = rewriteComment(c.Text, exported, spec.Elem(), importRenames)
			}
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

// callee returns the identifier a call calls: f in f(), m in x.m().
func callee(c *ast.CallExpr) *ast.Ident {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f
	case *ast.SelectorExpr:
		return f.Sel
	}
	return nil
}

// isTypeParamRecv reports whether a method's receiver is a type parameter
// (or a pointer to one).
func isTypeParamRecv(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	_, ok := t.(*types.TypeParam)
	return ok
}

// indexArgsNotTypeParams reports instantiations of template declarations
// in decl whose type arguments are not type parameters: a template may
// only instantiate its generic helpers with its own type parameters, which
// become the task (and key) types.
func indexArgsNotTypeParams(t *template, decl ast.Decl) ErrorList {
	var errs ErrorList
	for id, inst := range t.info.Instances {
		if id.Pos() < decl.Pos() || id.End() > decl.End() {
			continue
		}
		if o := t.info.Uses[id]; o == nil || o.Pkg() != t.pkg {
			continue // another package's generics (slices.Clone) stay generic
		}
		for i := range inst.TypeArgs.Len() {
			if _, ok := inst.TypeArgs.At(i).(*types.TypeParam); !ok {
				errs.add(t.fset.Position(id.Pos()), "template instantiates %s with %s; templates may only instantiate with their own type parameters", id.Name, inst.TypeArgs.At(i))
			}
		}
	}
	return errs
}

// isLocal reports whether o is declared inside a function: a variable,
// constant, type or label whose scope is not the package's.
func isLocal(o types.Object) bool {
	if o.Parent() == nil || o.Parent() == types.Universe || o.Pkg() == nil || o.Parent() == o.Pkg().Scope() {
		return false
	}
	if v, ok := o.(*types.Var); ok && v.IsField() {
		return false
	}
	return true
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

// rewriteDoc renames the first word of doc comments that start with the
// declared name ("queue is a bounded ..."), as Go doc comments do. Other
// words are left alone: unexported names are often plain English.
func rewriteDoc(u *unit, p *plan) {
	fix := func(doc *ast.CommentGroup, o types.Object) {
		if doc == nil || o == nil || len(doc.List) == 0 {
			return
		}
		c := doc.List[0]
		if rest, ok := strings.CutPrefix(c.Text, "// "+o.Name()+" "); ok {
			c.Text = "// " + p.rename[o] + " " + rest
		}
	}
	switch d := u.decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			fix(d.Doc, p.t.info.Defs[d.Name])
		}
	case *ast.GenDecl:
		if len(d.Specs) == 1 {
			if ts, ok := d.Specs[0].(*ast.TypeSpec); ok {
				fix(d.Doc, p.t.info.Defs[ts.Name])
			}
		}
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok {
				fix(ts.Doc, p.t.info.Defs[ts.Name])
			}
		}
	}
}

var wordRE = regexp.MustCompile(`\b[A-Za-z_][A-Za-z0-9_]*(\.[A-Z])?`)

// rewriteComment renames, in comment text, exported template names
// (FixedPool → ResizeFixedPool), the type parameter T, and the package
// names of renamed imports where they qualify a name (poolrt.OnPanic).
func rewriteComment(text string, exported map[string]string, elem string, imports map[string]string) string {
	renamed := map[string]bool{}
	text = wordRE.ReplaceAllStringFunc(text, func(w string) string {
		n := renameWord(w, exported, elem, imports)
		if n != w {
			name, _, _ := strings.Cut(strings.TrimPrefix(n, "*"), ".")
			renamed[name] = true
		}
		return n
	})
	// "A FixedPool" became "A EmailFixedPool": the article follows the
	// new name's first letter (a vowel letter takes "an").
	return articleRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := articleRE.FindStringSubmatch(m)
		article, rest := sub[1], sub[2]
		if !renamed[strings.TrimPrefix(rest, "*")] {
			return m
		}
		want := "a"
		if strings.ContainsRune("AEIOUaeiou", rune(strings.TrimPrefix(rest, "*")[0])) {
			want = "an"
		}
		if article[0] == 'A' {
			want = upperFirst(want)
		}
		return want + " " + rest
	})
}

// articleRE matches an article and the word after it.
var articleRE = regexp.MustCompile(`\b(An|an|A|a) (\*?[A-Za-z_][A-Za-z0-9_]*)`)

// renameWord is rewriteComment's renaming of one word.
func renameWord(w string, exported map[string]string, elem string, imports map[string]string) string {
	if pkg, rest, ok := strings.Cut(w, "."); ok {
		if alias, ok := imports[pkg]; ok {
			return alias + "." + rest
		}
		if n, ok := exported[pkg]; ok {
			return n + "." + rest
		}
		return w
	}
	if n, ok := exported[w]; ok {
		return n
	}
	if w == "T" {
		return elem
	}
	return w
}
