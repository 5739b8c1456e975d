package gen

// This file is the third step, bind. It consumes check's task types and
// produces the model of each that specialize works from (TaskSpec): the
// template pool types to specialize, whether the pools hold the type or a
// pointer to it, how each method a pool asks of the task is met (the
// task's own method or a tagged field), the batch key type and the batch
// handler. It is a step of its own because it is where the user's package
// meets the templates: it reads only what the templates' pool types ask
// (their type parameters' constraints), not their code, and reports each
// unmet demand at the user's declaration, together with check's problems.

import (
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// bound is bind's result: the model of every task type.
type bound struct {
	*loaded
	tasks []*TaskSpec
}

// TaskSpec is what poolgen knows of one task type: the model that
// specialize specializes the templates for.
type TaskSpec struct {
	Name     string          // the type's name, e.g. Resize
	Obj      *types.TypeName // the type
	Pointer  bool            // Run has a pointer receiver: pools hold *Name
	Patterns []string        // pool patterns to generate, in directive order
	Pos      token.Position  // the type's declaration

	// Pools are the template types to specialize: one per pattern, but
	// for priority one per ordering the task supports.
	Pools []PoolSpec
	// CallsRun says that some of the pools call the task's Run method.
	CallsRun bool
	// Bind says how each template method other than Run is met.
	Bind map[string]*Binding
	// Handler is the batch handler named by //poolgen:batch.
	Handler *types.Func
	// Timeout is the task's field tagged `poolgen:"timeout"`, its own
	// timeout, or nil.
	Timeout *Binding
}

// KeyFor returns the type that a key type parameter returned by the
// template method m becomes (ruleTypeParams): the batch key type for
// BatchKey (struct{} for a task without a key), the class type for
// Class, the tenant type for Tenant; nil if no pool of the task asks for
// m.
func (s *TaskSpec) KeyFor(m string) types.Type {
	b := s.Bind[m]
	switch {
	case b == nil:
		return nil
	case b.None:
		return types.NewStruct(nil, nil) // no batch key: one group
	}
	return b.Result
}

// Elem returns the Go type the pools hold: "Name" or "*Name".
func (s *TaskSpec) Elem() string {
	if s.Pointer {
		return "*" + s.Name
	}
	return s.Name
}

// PoolSpec is one generic pool type to specialize for a task type.
type PoolSpec struct {
	Pattern string // as in //poolgen:pools
	Type    string // the generic type in package templates, e.g. DeadlinePool
}

// Binding says how generated code gets what a template asks of the task
// through a method of its type parameter, other than Run.
type Binding struct {
	Method string     // the template's method: Priority, Deadline, Cost, BatchKey, Class or Tenant
	Field  *types.Var // the tagged field it reads; nil when Own or None
	Path   []string   // the field names that reach Field from the task: [Prio], or [base Prio] when promoted
	Own    bool       // the task type's own method is called
	None   bool       // BatchKey of a task without a key: every task shares one
	Result types.Type // what the method returns, the key type resolved
}

// bind matches every task type that check passed against the templates,
// and reports what does not match with the problems check found.
func bind(c *checked) (*bound, error) {
	errs := slices.Clone(c.problems)
	b := &bound{loaded: c.loaded}
	for _, t := range c.tasks {
		if s := bindTask(t, c.tmpl, c.user.Fset, &errs); s != nil {
			b.tasks = append(b.tasks, s)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return b, nil
}

// requirement is a template pool type's demands on its task type.
type requirement struct {
	pool    PoolSpec
	methods []*types.Func // of the task type parameter's constraint, Run included
	run     bool          // Run is among them
	handler bool          // it holds the batch handler (ruleHandler)
}

// requirements reads what pool type name asks of its task type (rulePools),
// or adds an error: at the task type pos if the templates lack the pool,
// at the template if it breaks a rule.
func requirements(tmpl *packages.Package, pattern, name string, pos token.Position, errs *ErrorList) (requirement, bool) {
	obj, _ := tmpl.Types.Scope().Lookup(name).(*types.TypeName)
	if obj == nil {
		errs.add(pos, "the templates have no %s for pattern %q (poolgen and its templates are out of step)", name, pattern)
		return requirement{}, false
	}
	named, _ := obj.Type().(*types.Named)
	if named == nil {
		errs.broke(tmpl.Fset.Position(obj.Pos()), rulePools, "%s is not a defined type", name)
		return requirement{}, false
	}
	task, _, problem := paramRoles(named.TypeParams())
	if problem != "" {
		errs.broke(tmpl.Fset.Position(obj.Pos()), rulePools, "%s %s", name, problem)
		return requirement{}, false
	}
	r := requirement{pool: PoolSpec{pattern, name}}
	iface := task.Constraint().Underlying().(*types.Interface)
	for i := range iface.NumMethods() {
		r.methods = append(r.methods, iface.Method(i))
		r.run = r.run || iface.Method(i).Name() == runMethod
	}
	if st, ok := named.Underlying().(*types.Struct); ok {
		h := handlerType(tmpl.Types)
		for i := range st.NumFields() {
			r.handler = r.handler || isHandlerType(st.Field(i).Type(), h)
		}
	}
	return r, true
}

// bindTask chooses the pools to generate for t's patterns and how each
// requirement of theirs is met, and reports every unmet requirement.
func bindTask(t *task, tmpl *packages.Package, fset *token.FileSet, errs *ErrorList) *TaskSpec {
	spec := &TaskSpec{Name: t.name, Obj: t.obj, Pos: t.pos, Patterns: t.patterns}
	named, fields := t.named, t.fields
	pkg := named.Obj().Pkg()

	// Collect the requirements of every pool type of the patterns.
	var reqs [][]requirement // by pattern
	needsRun := false
	for _, pattern := range spec.Patterns {
		var rs []requirement
		for _, name := range Patterns[pattern] {
			req, ok := requirements(tmpl, pattern, name, spec.Pos, errs)
			if !ok {
				return nil
			}
			needsRun = needsRun || req.run
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
			return nil
		}
	} else if valueSet.Lookup(pkg, runMethod) == nil && ptrSet.Lookup(pkg, runMethod) != nil {
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
	takesHandler := "" // the first pattern with a pool that takes a handler
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
				if m.Name() != runMethod {
					binds[m.Name()] = b
				}
			}
			if len(unmet) > 0 {
				missing = append(missing, strings.Join(unmet, " and "))
				continue
			}
			kept = append(kept, name)
			spec.Pools = append(spec.Pools, PoolSpec{pattern, name})
			spec.CallsRun = spec.CallsRun || req.run
			if req.handler && takesHandler == "" {
				takesHandler = pattern
			}
			for m, b := range binds {
				spec.Bind[m] = b
				if b.Field != nil {
					usedRoles[roleOf(m)] = true
				}
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
	if f := fields[timeoutRole]; f != nil {
		usedRoles[timeoutRole] = true
		if spec.Timeout = bindTimeout(spec, f, ptrSet, fset, errs); spec.Timeout == nil {
			ok = false
		}
	}
	for role, f := range fields {
		// Under -pools, a tag that the chosen patterns do not read is
		// simply unused: the directive may name patterns that do.
		if !usedRoles[role] && ok && !t.overridden {
			errs.add(fset.Position(f.v.Pos()), "field %s is tagged poolgen:%q, but no pool generated for %s uses a %s (patterns: %s)",
				f.name(), role, spec.Name, role, strings.Join(spec.Patterns, ","))
			ok = false
		}
	}
	if !ok || !bindHandler(spec, t, takesHandler, fset, errs) {
		return nil
	}
	if !spec.Pointer {
		if field := lockField(named); field != "" {
			errs.add(spec.Pos, "%s's methods have value receivers, so pools would copy it by value, but its %s must not be copied (go vet copylocks); "+
				"declare func (t *%s) Run(ctx context.Context) error instead, so that the pools hold *%s", spec.Name, field, spec.Name, spec.Name)
			return nil
		}
	}
	return spec
}

// bindHandler resolves the //poolgen:batch directive: the package-level
// function that handles batches, func(context.Context, []Elem) error. A
// pattern whose pool holds a handler (takes names the first; batch) needs
// one; no other pattern takes one.
func bindHandler(spec *TaskSpec, t *task, takes string, fset *token.FileSet, errs *ErrorList) bool {
	var dir *directive
	if t.decl != nil {
		for i := range t.decl.dirs {
			if t.decl.dirs[i].name == "batch" {
				dir = &t.decl.dirs[i]
			}
		}
	}
	switch {
	case dir == nil && takes != "":
		errs.add(spec.Pos, "pattern %s needs a handler: add //poolgen:batch HandleFunc to %s's doc comment, naming a func(ctx context.Context, batch []%s) error", takes, spec.Name, spec.Elem())
		return false
	case dir == nil, takes == "" && t.overridden: // -pools leaves the handler unused
		return true
	case takes == "":
		errs.add(fset.Position(dir.at), "//poolgen:batch names a batch handler, but no pool of %s's patterns (%s) takes one", spec.Name, strings.Join(spec.Patterns, ","))
		return false
	case len(dir.args) != 1:
		errs.add(fset.Position(dir.at), "//poolgen:batch takes one function name, got %d words", len(dir.args))
		return false
	}
	pkg := t.obj.Pkg()
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
		if name == runMethod {
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

// bindTimeout binds the task's field tagged `poolgen:"timeout"`, which
// must be a time.Duration, and the task's only timeout: a Timeout method
// beside it is an error. methods is the method set of *Task, which holds
// the value methods too.
func bindTimeout(spec *TaskSpec, tf *taggedField, methods *types.MethodSet, fset *token.FileSet, errs *ErrorList) *Binding {
	pkg := spec.Obj.Pkg()
	pos := fset.Position(tf.v.Pos())
	if methods.Lookup(pkg, "Timeout") != nil {
		errs.add(pos, "field %s is tagged poolgen:%q, but %s also has a Timeout method; keep one", tf.name(), timeoutRole, spec.Name)
		return nil
	}
	ft := tf.v.Type()
	if n, isNamed := types.Unalias(ft).(*types.Named); !isNamed || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "time" || n.Obj().Name() != "Duration" {
		errs.add(pos, "field %s is tagged poolgen:%q but has type %s; a timeout must be a time.Duration (the task's own timeout; see poolrt.TaskTimeout)",
			tf.name(), timeoutRole, types.TypeString(ft, types.RelativeTo(pkg)))
		return nil
	}
	return &Binding{Method: "Timeout", Field: tf.v, Path: tf.path, Result: types.Unalias(ft)}
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

func isContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

// checkRun finds Run in the method set of the type or of its pointer and
// checks its signature: func(context.Context) error.
func checkRun(named *types.Named, spec *TaskSpec, fset *token.FileSet, errs *ErrorList) bool {
	name := spec.Name
	want := "Run(ctx context.Context) error"
	obj, _, _ := types.LookupFieldOrMethod(named, true, named.Obj().Pkg(), runMethod)
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
	spec.Pointer = types.NewMethodSet(named).Lookup(named.Obj().Pkg(), runMethod) == nil
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

// sigString writes a template method's signature as a task type declares
// it: Priority() int64.
func sigString(name string, sig *types.Signature) string {
	s := types.TypeString(sig, func(p *types.Package) string { return p.Name() })
	return name + strings.TrimPrefix(s, "func")
}
