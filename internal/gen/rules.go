package gen

// This file is the contract between the generator and the templates it
// specializes: the one list of the rules that template code obeys, the
// names the generator looks up in the templates, and the checks that hold
// the code a run emits to the rules. bind reads the templates' pool types
// through it, and specialize checks every declaration before rewriting it.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// A rule is one of the rules that template code obeys so that
// specialize's rewrite stays type-safe. The constants below are every one
// of them, written down here and nowhere else. A run checks each on the
// template code it emits and reports a break as an error at the
// template's file:line:col that names the rule. TestTemplateRules breaks
// each rule in a fixture (testdata/rules/broken/<rule>), and the golden
// tests hold the real templates to all of them.
//
// The generator looks up only these names in the templates: the pool
// types of Patterns, the constraint methods runMethod and roles (which are
// also what a task type declares), and the handler type handlerTypeName.
// It recognizes everything else by what the templates declare: the task
// and key type parameters by their constraints, the templates' own
// declarations by their scope, the handler by its type. A template that
// renames one of these names fails TestGolden and TestGoldenNames (the
// batch case's constructor would take a handler; a rank method would
// become a requirement on the task type).
type rule string

const (
	// rulePools: for each pattern, the templates declare the generic pool
	// types that Patterns lists, by those names, each with one task type
	// parameter and, for a pool that batches by key, a key type parameter
	// (ruleTypeParams).
	rulePools rule = "pools"

	// ruleFiles: each pool type has a file of its own. A run emits every
	// declaration of the files of the pools it generates and, from the
	// rest of the package, whatever they use, so helpers that several
	// pools share belong in other files. The constraints of type
	// parameters are never emitted, nor is the handler type for a task
	// type with a handler (ruleHandler).
	ruleFiles rule = "files"

	// ruleTypeParams: a generic declaration has one task type parameter,
	// which becomes the task type (or a pointer to it, when Run has a
	// pointer receiver), and at most one key type parameter, which becomes
	// the type that the method returning it returns for the task: the
	// batch key type, the tenant type. A key type parameter is one that a
	// method of another type parameter's constraint returns: K in
	// BatchPool[T Keyed[K], K comparable], since Keyed[K] has BatchKey() K,
	// and in FairPool[T FairTask[K], K comparable], by Tenant() K.
	ruleTypeParams rule = "typeparams"

	// ruleInstances: a template instantiates the package's generic
	// declarations with its own type parameters only, so that
	// FixedPool[T] becomes ResizeFixedPool. Other packages' generics keep
	// their type arguments, made concrete: poolimpl.Fixed[T] becomes
	// poolimpl.Fixed[Resize].
	ruleInstances rule = "instances"

	// ruleMethods: a pool reaches its task only through the methods of the
	// task type parameter's constraint, and it only calls, directly
	// (t.Priority()), those that a tagged field may stand for, the methods
	// of roles: never a method value (t.Priority) or method expression
	// (T.Priority). Where the task meets one with a field, a call of the
	// generated accessor that reads the field replaces the call.
	ruleMethods rule = "methods"

	// ruleHandler: the batch handler's type is the generic func type that
	// handlerTypeName names (BatchHandler, a func(context.Context, []T)
	// error), and generated pools call the user's function named by
	// //poolgen:batch in its place. So, for a task type with a handler, a
	// template uses the handler only in the ways below, each of which the
	// rewrite carries over:
	//   - a named struct field or parameter of the handler type: removed;
	//   - a composite literal's element that sets such a field to such a
	//     parameter ({handle: handle}): removed;
	//   - a call of the handler, named by a variable or by a selector of a
	//     variable (p.handle(ctx, batch)): a call of the user's function;
	//   - an if statement in a statement list, without init or else, whose
	//     condition is handler == nil: removed, since the user's function
	//     is never nil.
	//
	// Any other use (the handler passed on, stored, compared otherwise;
	// its type used otherwise) would be lost in the rewrite.
	ruleHandler rule = "handler"

	// ruleNames: no two package-level declarations get the same name in
	// generated code (see rename: FixedPool becomes ResizeFixedPool,
	// runBatch poolgenResizeRunBatch).
	ruleNames rule = "names"

	// ruleDocs: the doc comment of each package-level function and type
	// starts with its name, as Go's do, so that it follows the rename.
	ruleDocs rule = "docs"
)

// rules is every rule, for the test that breaks each.
var rules = []rule{rulePools, ruleFiles, ruleTypeParams, ruleInstances, ruleMethods, ruleHandler, ruleNames, ruleDocs}

// broke adds a break of rule r at pos in a template.
func (l *ErrorList) broke(pos token.Position, r rule, format string, args ...any) {
	l.add(pos, "%s (template rule %q, internal/gen/rules.go)", fmt.Sprintf(format, args...), r)
}

// Patterns lists the pool patterns poolgen knows, and the generic types in
// the templates that each is specialized from (rulePools). A pattern with
// several types (priority: by priority, deadline or cost) generates those
// the task type supports, at least one.
var Patterns = map[string][]string{
	"fixed":    {"FixedPool"},
	"dynamic":  {"DynamicPool"},
	"stealing": {"StealingPool"},
	"priority": {"PriorityPool", "DeadlinePool", "CostPool"},
	"batch":    {"BatchPool"},
	"router":   {"Router"},
	"fair":     {"FairPool"},
}

// patternNames returns the known pattern names, sorted.
func patternNames() []string {
	names := make([]string, 0, len(Patterns))
	for n := range Patterns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// runMethod is the method of every task type that runs it. A pool that
// asks for it (its task type parameter's constraint has it) calls the task
// type's own method.
const runMethod = "Run"

// roles are the other methods a pool may ask of its task through its task
// type parameter's constraint (ruleMethods), by the struct tag role that
// can stand for each: Priority, Deadline or Cost for the priority pools,
// BatchKey for the batch pool, Class for the router, Tenant for the fair
// pool. A task type provides each either as a method of its own or as a
// field tagged `poolgen:"role"`.
var roles = map[string]string{
	"priority": "Priority",
	"deadline": "Deadline",
	"cost":     "Cost",
	"batchkey": "BatchKey",
	"class":    "Class",
	"tenant":   "Tenant",
}

// timeoutRole is the tag of a task's own timeout, the field that stands
// for a Timeout() time.Duration method. No pool requires it: the pools
// read it where the task has one (in place of the templates' timeoutOf).
const timeoutRole = "timeout"

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
	names = append(names, timeoutRole)
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// handlerTypeName names the templates' batch handler type (ruleHandler).
const handlerTypeName = "BatchHandler"

// handlerType returns the templates' batch handler type, or nil if they
// declare none.
func handlerType(tmpl *types.Package) *types.TypeName {
	tn, _ := tmpl.Scope().Lookup(handlerTypeName).(*types.TypeName)
	return tn
}

// isHandlerType reports whether t is an instance of the handler type h.
func isHandlerType(t types.Type, h *types.TypeName) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && h != nil && n.Origin().Obj() == h
}

// paramRole is what a type parameter of a template stands for.
type paramRole int

const (
	taskParam paramRole = iota + 1 // the task type, or a pointer to it
	keyParam                       // a key type: the batch key, the class or the tenant
)

// paramRoles tells apart the task and the key type parameter of one
// generic declaration (ruleTypeParams), or says why it cannot.
func paramRoles(list *types.TypeParamList) (task, key *types.TypeParam, problem string) {
	var tasks, keys []string
	for i := range list.Len() {
		tp := list.At(i)
		if returnedByConstraint(list, tp) {
			keys = append(keys, tp.Obj().Name())
			key = tp
		} else {
			tasks = append(tasks, tp.Obj().Name())
			task = tp
		}
	}
	if len(tasks) == 1 && len(keys) <= 1 {
		return task, key, ""
	}
	return nil, nil, fmt.Sprintf("has %s for the task type and %s for the key, but a template has one task type parameter and at most one key type parameter "+
		"(one that a method of the task type parameter's constraint returns)", typeParams(tasks), typeParams(keys))
}

// typeParams lists type parameters in prose: "no type parameter", "the
// type parameter T", "the type parameters T and U".
func typeParams(names []string) string {
	switch len(names) {
	case 0:
		return "no type parameter"
	case 1:
		return "the type parameter " + names[0]
	}
	return "the type parameters " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// returnedByConstraint reports whether a method of the constraint of
// another type parameter in list returns tp.
func returnedByConstraint(list *types.TypeParamList, tp *types.TypeParam) bool {
	return keyMethod(list, tp) != ""
}

// keyMethod returns the name of a method of the constraint of another
// type parameter in list that returns tp, or "".
func keyMethod(list *types.TypeParamList, tp *types.TypeParam) string {
	for i := range list.Len() {
		if other := list.At(i); other != tp {
			iface := other.Constraint().Underlying().(*types.Interface)
			for j := range iface.NumMethods() {
				results := iface.Method(j).Type().(*types.Signature).Results()
				for k := range results.Len() {
					if types.Identical(results.At(k).Type(), tp) {
						return iface.Method(j).Name()
					}
				}
			}
		}
	}
	return ""
}

// checkDecl checks a declaration that the plan emits against the rules
// that concern its code, and records the roles of its type parameters for
// the rewrite. It runs before the rewrite, on the template as written.
func (p *plan) checkDecl(decl ast.Decl) ErrorList {
	var errs ErrorList
	p.checkTypeParams(decl, &errs)
	p.checkInstances(decl, &errs)
	p.checkMethodUses(decl, &errs)
	p.checkHandlerUses(decl, &errs)
	p.checkDocs(decl, &errs)
	return errs
}

// checkTypeParams classifies the type parameters of decl (ruleTypeParams)
// into p.params.
func (p *plan) checkTypeParams(decl ast.Decl, errs *ErrorList) {
	t := p.t
	lists := map[string]*types.TypeParamList{} // by the name of what declares them
	switch d := decl.(type) {
	case *ast.FuncDecl:
		sig := t.info.Defs[d.Name].Type().(*types.Signature)
		lists[d.Name.Name] = sig.TypeParams()
		if d.Recv != nil {
			lists[d.Name.Name] = sig.RecvTypeParams()
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok {
				if named, ok := t.info.Defs[ts.Name].Type().(*types.Named); ok {
					lists[ts.Name.Name] = named.TypeParams()
				}
			}
		}
	}
	for _, owner := range sortedKeys(lists) {
		list := lists[owner]
		if list.Len() == 0 {
			continue
		}
		task, key, problem := paramRoles(list)
		if problem != "" {
			errs.broke(t.fset.Position(list.At(0).Obj().Pos()), ruleTypeParams, "%s %s", owner, problem)
			continue
		}
		p.params[task.Obj()] = taskParam
		if key != nil {
			p.params[key.Obj()] = keyParam
			m := keyMethod(list, key)
			if p.keys[key.Obj()] = p.task.KeyFor(m); p.keys[key.Obj()] == nil {
				errs.broke(t.fset.Position(key.Obj().Pos()), ruleTypeParams, "%s has the key type parameter %s, returned by %s, but no pool of %s asks for %s",
					owner, key.Obj().Name(), m, p.task.Name, m)
			}
		}
	}
}

// checkInstances reports instantiations of the package's generic
// declarations in decl with type arguments other than type parameters
// (ruleInstances).
func (p *plan) checkInstances(decl ast.Decl, errs *ErrorList) {
	t := p.t
	for id, inst := range t.info.Instances {
		if id.Pos() < decl.Pos() || id.End() > decl.End() {
			continue
		}
		if o := t.info.Uses[id]; o == nil || o.Pkg() != t.pkg {
			continue // another package's generics (slices.Clone) stay generic
		}
		for i := range inst.TypeArgs.Len() {
			if _, ok := inst.TypeArgs.At(i).(*types.TypeParam); !ok {
				errs.broke(t.fset.Position(id.Pos()), ruleInstances, "%s is instantiated with %s; templates instantiate their generic declarations with their own type parameters only",
					id.Name, types.TypeString(inst.TypeArgs.At(i), types.RelativeTo(t.pkg)))
			}
		}
	}
}

// checkMethodUses reports the methods of roles that decl uses other than
// by calling them directly on a task (ruleMethods).
func (p *plan) checkMethodUses(decl ast.Decl, errs *ErrorList) {
	called := map[*ast.SelectorExpr]bool{}
	ast.Inspect(decl, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				called[sel] = true
			}
		case *ast.SelectorExpr:
			s := p.t.info.Selections[n]
			if s == nil || !isTypeParamRecv(s.Recv()) || roleOf(n.Sel.Name) == "" {
				break
			}
			if s.Kind() != types.MethodVal || !called[n] {
				errs.broke(p.t.fset.Position(n.Sel.Pos()), ruleMethods, "%s is used other than by a call on a task, but a task type may meet %s with a tagged field, which generated code reads only where a template calls %s",
					n.Sel.Name, n.Sel.Name, n.Sel.Name)
			}
		}
		return true
	})
}

// checkHandlerUses reports every use of the batch handler in decl that
// the rewrite could not carry over (ruleHandler).
func (p *plan) checkHandlerUses(decl ast.Decl, errs *ErrorList) {
	if p.task.Handler == nil {
		return // the handler type is specialized like any other
	}
	called := map[*ast.Ident]bool{}
	p.inspectKept(decl, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if id := p.handlerIdent(call.Fun); id != nil {
				called[id] = true
			}
		}
		if id, ok := n.(*ast.Ident); ok && !called[id] {
			o := p.t.info.Uses[id]
			if o == nil {
				o = p.t.info.Defs[id]
			}
			switch {
			case p.isHandler(o):
				errs.broke(p.t.fset.Position(id.Pos()), ruleHandler, "the batch handler %s is used other than by calling it, but generated code calls the user's function in its place", id.Name)
			case o != nil && o == p.handlerType:
				errs.broke(p.t.fset.Position(id.Pos()), ruleHandler, "the handler type %s is used other than as the type of a named field or parameter, but generated code has no handler type", id.Name)
			}
		}
		return true
	})
}

// inspectKept is ast.Inspect of what the rewrite keeps of decl: it skips
// the handler plumbing that removeHandlerPlumbing deletes.
func (p *plan) inspectKept(decl ast.Decl, f func(ast.Node) bool) {
	astutil.Apply(decl, func(c *astutil.Cursor) bool {
		return (p.task.Handler == nil || !p.handlerPlumbing(c)) && f(c.Node())
	}, nil)
}

// isHandler reports whether o is a variable (a field or parameter) that
// holds the batch handler.
func (p *plan) isHandler(o types.Object) bool {
	v, ok := o.(*types.Var)
	return ok && isHandlerType(v.Type(), p.handlerType)
}

// handlerPlumbing reports whether the node at c is one of the uses of the
// batch handler that the rewrite removes (ruleHandler): a field or
// parameter of the handler type, a composite literal's element that sets
// one to one, or a nil check of the handler.
func (p *plan) handlerPlumbing(c *astutil.Cursor) bool {
	info := p.t.info
	switch n := c.Node().(type) {
	case *ast.Field:
		return len(n.Names) > 0 && p.isHandler(info.Defs[n.Names[0]])
	case *ast.KeyValueExpr:
		key, _ := n.Key.(*ast.Ident)
		val, _ := n.Value.(*ast.Ident)
		return key != nil && val != nil && p.isHandler(info.Uses[key]) && p.isHandler(info.Uses[val])
	case *ast.IfStmt:
		cond, ok := n.Cond.(*ast.BinaryExpr)
		if !ok || c.Index() < 0 || n.Init != nil || n.Else != nil || cond.Op != token.EQL {
			return false
		}
		isNil := func(x ast.Expr) bool {
			id, ok := x.(*ast.Ident)
			return ok && info.Uses[id] == types.Universe.Lookup("nil")
		}
		return p.handlerIdent(cond.X) != nil && isNil(cond.Y) || isNil(cond.X) && p.handlerIdent(cond.Y) != nil
	}
	return false
}

// handlerIdent returns the identifier by which x names the batch handler,
// if x is a variable (handle) or a selector of a variable (p.handle) that
// holds it, or nil.
func (p *plan) handlerIdent(x ast.Expr) *ast.Ident {
	var id *ast.Ident
	switch x := x.(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		if _, ok := x.X.(*ast.Ident); ok {
			id = x.Sel
		}
	}
	if id == nil || !p.isHandler(p.t.info.Uses[id]) {
		return nil
	}
	return id
}

// declDoc is a function or type that a declaration declares, with the
// doc comment that ruleDocs asks to start with its name.
type declDoc struct {
	name *ast.Ident
	doc  *ast.CommentGroup
}

// docs returns the functions (not methods: their names stay) and types
// that decl declares, each with its doc comment: a type's own, or its
// declaration's when that declares it alone.
func docs(decl ast.Decl) []declDoc {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			return []declDoc{{d.Name, d.Doc}}
		}
	case *ast.GenDecl:
		var out []declDoc
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok {
				doc := ts.Doc
				if doc == nil && len(d.Specs) == 1 {
					doc = d.Doc
				}
				out = append(out, declDoc{ts.Name, doc})
			}
		}
		return out
	}
	return nil
}

// docPrefix returns what the doc comment of name starts with (ruleDocs).
func docPrefix(name string) string { return "// " + name + " " }

// checkDocs reports the functions and types of decl whose doc comment
// does not start with their name (ruleDocs).
func (p *plan) checkDocs(decl ast.Decl, errs *ErrorList) {
	for _, d := range docs(decl) {
		if d.doc == nil || !strings.HasPrefix(d.doc.List[0].Text, docPrefix(d.name.Name)) {
			errs.broke(p.t.fset.Position(d.name.Pos()), ruleDocs, "the doc comment of %s does not start with %q, so it cannot follow the rename", d.name.Name, d.name.Name+" ")
		}
	}
}
