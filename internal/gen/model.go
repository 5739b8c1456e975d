package gen

import (
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// A pool template asks its task type for what it needs through the
// methods of its type parameter's constraint: Run for every pool,
// Priority, Deadline or Cost for the priority pools, BatchKey for the batch
// pool. A task type provides each either as a method of its own, or, for
// all but Run, as a struct field tagged with the method's role.
var roles = map[string]string{
	"priority": "Priority",
	"deadline": "Deadline",
	"cost":     "Cost",
	"batchkey": "BatchKey",
}

// roleOf returns the tag role that stands for a template method, or "".
func roleOf(method string) string {
	for r, m := range roles {
		if m == method {
			return r
		}
	}
	return ""
}

func roleNames() string {
	var names []string
	for r := range roles {
		names = append(names, r)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Binding says how generated code gets what a template asks of the task
// through a method of its type parameter, other than Run.
type Binding struct {
	Method string     // the template's method: Priority, Deadline, Cost or BatchKey
	Field  *types.Var // the tagged field it reads; nil when Own or None
	Path   []string   // the field names that reach Field from the task: [Prio], or [base Prio] when promoted
	Own    bool       // the task type's own method is called
	None   bool       // BatchKey of a task without a key: every task shares one
	Result types.Type // what the method returns, the batch key type resolved
}

// PoolSpec is one generic pool type to specialize for a task type.
type PoolSpec struct {
	Pattern string // as in //poolgen:pools
	Type    string // the generic type in package templates, e.g. DeadlinePool
}

// requirement is a template pool type's demands on its task type.
type requirement struct {
	pool    PoolSpec
	methods []*types.Func // of the type parameter's constraint, Run included
	keyed   bool          // a second type parameter: the batch key type
}

// requirements reads what pool type name asks of its task type.
func requirements(tmpl *types.Package, pattern, name string) (requirement, error) {
	obj, _ := tmpl.Scope().Lookup(name).(*types.TypeName)
	if obj == nil {
		return requirement{}, errorf("the templates have no %s for pattern %q (poolgen and its templates are out of step)", name, pattern)
	}
	named := obj.Type().(*types.Named)
	tps := named.TypeParams()
	if tps.Len() == 0 || tps.Len() > 2 {
		return requirement{}, errorf("template %s has %d type parameters; poolgen handles the task type and an optional key type", name, tps.Len())
	}
	iface, ok := tps.At(0).Constraint().Underlying().(*types.Interface)
	if !ok {
		return requirement{}, errorf("template %s: the task type parameter's constraint is not an interface", name)
	}
	r := requirement{pool: PoolSpec{pattern, name}, keyed: tps.Len() == 2}
	for i := range iface.NumMethods() {
		r.methods = append(r.methods, iface.Method(i))
	}
	return r, nil
}

// taggedField is a field of a task type, or of a struct it embeds, tagged
// `poolgen:"role"`.
type taggedField struct {
	v    *types.Var
	path []string // field names from the task to v: [Prio], or [base Prio] for a promoted field
}

// name is the field as a selector on the task reads it: Prio, base.Prio.
func (f *taggedField) name() string { return strings.Join(f.path, ".") }

// structField is a field of a struct, reached through the embedded fields
// in path.
type structField struct {
	v    *types.Var
	tag  string
	path []string
}

// fieldsOf returns the fields of named's struct and, breadth first, those
// of the structs it embeds (by value or by pointer), each with the path of
// field names that reaches it: the promoted fields, shadowed ones
// included, since generated code reads them by their full path. Fields of
// another package that it does not export are left out: generated code
// cannot read them.
func fieldsOf(named *types.Named) []structField {
	own := named.Obj().Pkg()
	type level struct {
		t    types.Type
		path []string
	}
	var out []structField
	seen := map[types.Type]bool{}
	work := []level{{named, nil}}
	for len(work) > 0 {
		l := work[0]
		work = work[1:]
		if seen[l.t] {
			continue
		}
		seen[l.t] = true
		st, ok := l.t.Underlying().(*types.Struct)
		if !ok {
			continue
		}
		for i := range st.NumFields() {
			f := st.Field(i)
			if f.Pkg() != own && !f.Exported() {
				continue
			}
			path := append(slices.Clone(l.path), f.Name())
			out = append(out, structField{f, st.Tag(i), path})
			if f.Embedded() {
				t := types.Unalias(f.Type())
				if p, ok := t.(*types.Pointer); ok {
					t = types.Unalias(p.Elem())
				}
				if _, ok := t.(*types.Named); ok {
					work = append(work, level{t, path})
				}
			}
		}
	}
	return out
}

// tagged returns the task's fields tagged `poolgen:"role"`, by role, those
// promoted from embedded structs included, reporting unknown roles and
// roles tagged twice.
func tagged(named *types.Named, fset *token.FileSet, errs *ErrorList) map[string]*taggedField {
	out := map[string]*taggedField{}
	for _, sf := range fieldsOf(named) {
		role, ok := reflect.StructTag(sf.tag).Lookup("poolgen")
		if fix := tagFix(sf.tag); fix != "" && sf.v.Pkg() == named.Obj().Pkg() {
			// Reported by scanTags with the fix; read as fixed, so that
			// no other error follows from it.
			role, ok = reflect.StructTag(fix).Lookup("poolgen")
		}
		if !ok {
			continue
		}
		f := &taggedField{v: sf.v, path: sf.path}
		pos := fset.Position(f.v.Pos())
		switch {
		case roles[role] == "":
			errs.add(pos, "unknown poolgen tag %q on field %s (known: %s)", role, f.name(), roleNames())
		case out[role] != nil:
			errs.add(pos, "fields %s and %s are both tagged poolgen:%q; tag one", out[role].name(), f.name(), role)
		default:
			out[role] = f
		}
	}
	return out
}

// tagInfo is a field of the user's package whose struct tag has a poolgen
// key.
type tagInfo struct {
	pos   token.Position // the tag
	field string
	owner string // the type whose struct declares the field; "" for a struct type with no name
	role  string
}

// scanTags reads every struct tag of the package: it reports each that
// mentions a poolgen key reflect.StructTag.Lookup cannot read (and so
// poolgen would ignore), with the tag written so that it can, and returns
// the fields whose poolgen key it reads.
func scanTags(pkg *packages.Package, errs *ErrorList) map[*types.Var]*tagInfo {
	out := map[*types.Var]*tagInfo{}
	for _, f := range pkg.Syntax {
		owners := map[*ast.StructType]string{}
		for _, td := range typeDecls(f) {
			if st, ok := td.spec.Type.(*ast.StructType); ok {
				owners[st] = td.spec.Name.Name
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				if fld.Tag == nil {
					continue
				}
				tag, err := strconv.Unquote(fld.Tag.Value)
				if err != nil {
					continue // a syntax error, reported by the load
				}
				names := fld.Names
				if len(names) == 0 {
					names = []*ast.Ident{embeddedName(fld.Type)}
				}
				pos := pkg.Fset.Position(fld.Tag.Pos())
				if fix := tagFix(tag); fix != "" {
					errs.add(pos, "malformed struct tag on field %s: reflect.StructTag.Lookup cannot read its poolgen key, so poolgen would ignore it; "+
						"write `%s` (key:\"value\" pairs separated by spaces, keys lower case)", names[0].Name, fix)
					continue
				}
				role, ok := reflect.StructTag(tag).Lookup("poolgen")
				if !ok {
					continue
				}
				for _, id := range names {
					if v, ok := pkg.TypesInfo.Defs[id].(*types.Var); ok {
						out[v] = &tagInfo{pos: pos, field: id.Name, owner: owners[st], role: role}
					}
				}
			}
			return true
		})
	}
	return out
}

// embeddedName returns the identifier that names an embedded field: T in
// T, *T, p.T, T[int].
func embeddedName(x ast.Expr) *ast.Ident {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.SelectorExpr:
			return e.Sel
		case *ast.IndexExpr:
			x = e.X
		case *ast.IndexListExpr:
			x = e.X
		case *ast.Ident:
			return e
		default:
			return &ast.Ident{Name: "_"}
		}
	}
}

// looseTagPair matches a key and value in a struct tag written loosely:
// a space around the colon, = for the colon, no quotes or single quotes
// around the value, commas between pairs.
var looseTagPair = regexp.MustCompile(`([^\s:=,;"'\x60]+)\s*[:=]\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;"']+)`)

// tagFix returns tag written so that reflect.StructTag.Lookup reads its
// poolgen key, if tag has a poolgen key (in any case) that Lookup cannot
// read; otherwise "".
func tagFix(tag string) string {
	if _, ok := reflect.StructTag(tag).Lookup("poolgen"); ok {
		return ""
	}
	found := false
	var pairs []string
	for _, m := range looseTagPair.FindAllStringSubmatch(tag, -1) {
		key, val := m[1], m[2]
		if strings.EqualFold(key, "poolgen") {
			key, found = "poolgen", true
		}
		if !strings.HasPrefix(val, `"`) {
			val = strconv.Quote(strings.Trim(val, "'"))
		}
		pairs = append(pairs, key+":"+val)
	}
	if !found {
		return ""
	}
	return strings.Join(pairs, " ")
}

// checkTagOwners reports every field tagged `poolgen:"..."` that no task
// type reads: one of a type that is not a task type (named by this run,
// by a directive, or by -type in a //go:generate line of the package), or
// of a struct such a type does not embed.
func checkTagOwners(pkg *packages.Package, tags map[*types.Var]*tagInfo, tasks []string, errs *ErrorList) {
	read := map[*types.Var]bool{}
	for _, name := range tasks {
		if tn, ok := pkg.Types.Scope().Lookup(name).(*types.TypeName); ok {
			if named, ok := tn.Type().(*types.Named); ok {
				for _, sf := range fieldsOf(named) {
					read[sf.v.Origin()] = true
				}
			}
		}
	}
	for v, t := range tags {
		switch {
		case read[v]:
		case t.owner == "":
			errs.add(t.pos, "field %s is tagged poolgen:%q in a struct type that is not a named, package-level type, so the tag is never read: "+
				"poolgen reads the tags of a task type's fields and of the structs it embeds; move the tag to a field of the task type", t.field, t.role)
		default:
			errs.add(t.pos, "field %s of %s is tagged poolgen:%q, but %s is not a task type poolgen generates pools for, nor embedded in one, so the tag is never read: "+
				"move the tag to a field of the task type, embed %s in the task type, or generate pools for %s (-type=%s or a //poolgen:pools directive)",
				t.field, t.owner, t.role, t.owner, t.owner, t.owner, t.owner)
		}
	}
}

// bind chooses the pools to generate for spec's patterns and how each
// requirement of theirs is met. It sets spec.Pointer, spec.Pools,
// spec.Bind, spec.Key, and reports every unmet requirement.
func bind(spec *TaskSpec, named *types.Named, tmpl *types.Package, td *typeDecl, fset *token.FileSet, errs *ErrorList) bool {
	pkg := named.Obj().Pkg()
	fields := tagged(named, fset, errs)

	// Collect the requirements of every pool type of the patterns.
	var reqs [][]requirement // by pattern
	needsRun := false
	for _, pattern := range spec.Patterns {
		var rs []requirement
		for _, name := range Patterns[pattern] {
			req, err := requirements(tmpl, pattern, name)
			if err != nil {
				errs.add(spec.Pos, "%v", err.(*Error).Msg)
				return false
			}
			if slices.ContainsFunc(req.methods, func(m *types.Func) bool { return m.Name() == "Run" }) {
				needsRun = true
			}
			rs = append(rs, req)
		}
		reqs = append(reqs, rs)
	}

	// The receiver kind: Run's, or for a task without Run (batch only)
	// that of its other methods.
	valueSet := types.NewMethodSet(named)
	ptrSet := types.NewMethodSet(types.NewPointer(named))
	if needsRun {
		if !checkRun(named, spec, fset, errs) {
			return false
		}
	} else if valueSet.Lookup(pkg, "Run") == nil && ptrSet.Lookup(pkg, "Run") != nil {
		spec.Pointer = true
	} else {
		for _, m := range roles {
			if ptrSet.Lookup(pkg, m) != nil && valueSet.Lookup(pkg, m) == nil {
				spec.Pointer = true
			}
		}
	}
	own := valueSet
	if spec.Pointer {
		own = ptrSet
	}

	ok := true
	usedRoles := map[string]bool{}
	spec.Bind = map[string]*Binding{}
	for i, pattern := range spec.Patterns {
		var kept, missing []string
		for _, req := range reqs[i] {
			name := req.pool.Type
			var unmet []string
			binds := map[string]*Binding{}
			var key types.Type
			for _, m := range req.methods {
				b, why := bindMethod(spec, m, own, fields, &key, fset, errs)
				if b == nil {
					unmet = append(unmet, why)
					continue
				}
				if m.Name() != "Run" {
					binds[m.Name()] = b
				}
			}
			if len(unmet) > 0 {
				missing = append(missing, strings.Join(unmet, " and "))
				continue
			}
			kept = append(kept, name)
			spec.Pools = append(spec.Pools, PoolSpec{pattern, name})
			for m, b := range binds {
				spec.Bind[m] = b
				if b.Field != nil {
					usedRoles[roleOf(m)] = true
				}
			}
			if req.keyed {
				if key == nil {
					key = types.NewStruct(nil, nil) // no batch key: one group
				}
				spec.Key = key
			}
		}
		if len(kept) == 0 {
			ok = false
			if len(missing) == 1 {
				errs.add(spec.Pos, "pattern %s needs %s", pattern, missing[0])
			} else {
				errs.add(spec.Pos, "pattern %s needs at least one of: %s", pattern, strings.Join(missing, "; or "))
			}
		}
	}
	for role, f := range fields {
		// Under -pools, a tag that the chosen patterns do not read is
		// simply unused: the directive may name patterns that do.
		if !usedRoles[role] && ok && !spec.overridden {
			errs.add(fset.Position(f.v.Pos()), "field %s is tagged poolgen:%q, but no pool generated for %s uses a %s (patterns: %s)",
				f.name(), role, spec.Name, role, strings.Join(spec.Patterns, ","))
			ok = false
		}
	}
	if !ok {
		return false
	}
	return checkHandler(spec, td, pkg, fset, errs)
}

// bindMethod meets one requirement: by the task's own method, or by a
// tagged field. It returns nil and a description of what would meet it
// when neither is there. key collects the batch key type.
func bindMethod(spec *TaskSpec, want *types.Func, own *types.MethodSet, fields map[string]*taggedField, key *types.Type, fset *token.FileSet, errs *ErrorList) (*Binding, string) {
	name := want.Name()
	wsig := want.Type().(*types.Signature)
	pkg := spec.Obj.Pkg()
	role := roleOf(name)
	tf := fields[role]
	if sel := own.Lookup(pkg, name); sel != nil {
		fn, isFunc := sel.Obj().(*types.Func)
		if !isFunc {
			return nil, "a " + name + " method"
		}
		if tf != nil {
			errs.add(fset.Position(tf.v.Pos()), "field %s is tagged poolgen:%q, but %s also has a %s method; keep one", tf.name(), role, spec.Name, name)
			return &Binding{Method: name, Own: true}, ""
		}
		if name == "Run" {
			return &Binding{Method: name, Own: true}, "" // checked by checkRun
		}
		have := fn.Type().(*types.Signature)
		if !matchSig(have, wsig, key) {
			errs.add(fset.Position(fn.Pos()), "%s.%s has signature %s; the %s pool needs %s",
				spec.Name, name, types.TypeString(have, types.RelativeTo(pkg)), role, sigString(name, wsig))
			return &Binding{Method: name, Own: true}, ""
		}
		return &Binding{Method: name, Own: true, Result: have.Results().At(0).Type()}, ""
	}
	if role == "" {
		return nil, "a method " + sigString(name, wsig)
	}
	result := wsig.Results().At(0).Type()
	if tf == nil {
		if role == "batchkey" {
			return &Binding{Method: name, None: true}, "" // optional: one group
		}
		return nil, "a " + sigString(name, wsig) + " method or " + withArticle(describeType(result)) + " field tagged `poolgen:\"" + role + "\"`"
	}
	field := tf.v
	ft := field.Type()
	switch result.(type) {
	case *types.TypeParam:
		if !types.Comparable(ft) {
			errs.add(fset.Position(field.Pos()), "field %s is tagged poolgen:%q but its type %s is not comparable", tf.name(), role, types.TypeString(ft, types.RelativeTo(pkg)))
		}
		*key = ft
		result = ft
	default:
		if !fieldFits(ft, result) {
			errs.add(fset.Position(field.Pos()), "field %s is tagged poolgen:%q but has type %s; a %s must be %s",
				tf.name(), role, types.TypeString(ft, types.RelativeTo(pkg)), role, withArticle(describeType(result)))
		}
	}
	return &Binding{Method: name, Field: field, Path: tf.path, Result: result}, ""
}

// matchSig reports whether a task's method has the signature a template
// asks for; the key type parameter matches any comparable type, which it
// then stands for.
func matchSig(have, want *types.Signature, key *types.Type) bool {
	if have.Variadic() != want.Variadic() || have.Params().Len() != want.Params().Len() || have.Results().Len() != want.Results().Len() {
		return false
	}
	match := func(h, w types.Type) bool {
		if _, isTP := w.(*types.TypeParam); isTP {
			if *key != nil && !types.Identical(*key, h) || !types.Comparable(h) {
				return false
			}
			*key = h
			return true
		}
		return types.Identical(h, w)
	}
	for i := range have.Params().Len() {
		if !match(have.Params().At(i).Type(), want.Params().At(i).Type()) {
			return false
		}
	}
	for i := range have.Results().Len() {
		if !match(have.Results().At(i).Type(), want.Results().At(i).Type()) {
			return false
		}
	}
	return true
}

// fieldFits reports whether a tagged field can stand for a method result:
// any integer type for int64 (converted), or the very type.
func fieldFits(field, result types.Type) bool {
	if b, ok := result.Underlying().(*types.Basic); ok && b.Kind() == types.Int64 && types.Identical(result, types.Typ[types.Int64]) {
		fb, ok := field.Underlying().(*types.Basic)
		return ok && fb.Info()&types.IsInteger != 0
	}
	return types.Identical(field, result)
}

func describeType(t types.Type) string {
	switch {
	case types.Identical(t, types.Typ[types.Int64]):
		return "integer"
	case isTimeTime(t):
		return "time.Time"
	}
	if _, ok := t.(*types.TypeParam); ok {
		return "comparable"
	}
	return types.TypeString(t, func(p *types.Package) string { return p.Name() })
}

// withArticle puts "a" or "an" before a type's description.
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func isTimeTime(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "time" && n.Obj().Name() == "Time"
}

func sigString(name string, sig *types.Signature) string {
	s := types.TypeString(sig, func(p *types.Package) string { return p.Name() })
	s = strings.TrimPrefix(s, "func")
	if _, ok := sig.Results().At(0).Type().(*types.TypeParam); ok && sig.Results().Len() == 1 {
		s = strings.Replace(s, sig.Results().At(0).Type().String(), "K", 1)
	}
	return name + s
}

// checkHandler resolves the //poolgen:batch directive: the package-level
// function that handles batches, func(context.Context, []Elem) error. The
// batch pattern needs one; no other pattern takes one.
func checkHandler(spec *TaskSpec, td *typeDecl, pkg *types.Package, fset *token.FileSet, errs *ErrorList) bool {
	var dir *directive
	if td != nil {
		for i := range td.dirs {
			if td.dirs[i].name == "batch" {
				dir = &td.dirs[i]
			}
		}
	}
	batch := slices.Contains(spec.Patterns, "batch")
	switch {
	case dir == nil && batch:
		errs.add(spec.Pos, "pattern batch needs a handler: add //poolgen:batch HandleFunc to %s's doc comment, naming a func(ctx context.Context, batch []%s) error", spec.Name, spec.Elem())
		return false
	case dir == nil, !batch && spec.overridden: // -pools leaves the handler unused
		return true
	case !batch:
		errs.add(fset.Position(dir.at), "//poolgen:batch names a batch handler, but %s's patterns (%s) do not include batch", spec.Name, strings.Join(spec.Patterns, ","))
		return false
	case len(dir.args) != 1:
		errs.add(fset.Position(dir.at), "//poolgen:batch takes one function name, got %d words", len(dir.args))
		return false
	}
	name := dir.args[0]
	at := fset.Position(dir.pos[0])
	fn, _ := pkg.Scope().Lookup(name).(*types.Func)
	if fn == nil {
		errs.add(at, "no function %s in package %s for //poolgen:batch", name, pkg.Name())
		return false
	}
	sig := fn.Type().(*types.Signature)
	ok := sig.Params().Len() == 2 && sig.Results().Len() == 1 && !sig.Variadic() &&
		isContext(sig.Params().At(0).Type()) &&
		types.Identical(sig.Results().At(0).Type(), types.Universe.Lookup("error").Type())
	if ok {
		sl, isSlice := sig.Params().At(1).Type().(*types.Slice)
		elem := types.Type(spec.Obj.Type())
		if spec.Pointer {
			elem = types.NewPointer(elem)
		}
		ok = isSlice && types.Identical(sl.Elem(), elem)
	}
	if !ok {
		errs.add(fset.Position(fn.Pos()), "batch handler %s has signature %s; it must be func(ctx context.Context, batch []%s) error",
			name, types.TypeString(sig, types.RelativeTo(pkg)), spec.Elem())
		return false
	}
	spec.Handler = fn
	return true
}

func isContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}
