package gen

// This file holds specialize's rewrite of template code for one task
// type: a declaration goes through the steps of rewriteDecl, each a small
// pass over its syntax tree. The steps find the template code they rewrite
// by what the type checker recorded of it (Uses, Defs, Selections), which
// only the template's own nodes have, so the steps that delete or replace
// nodes come before those that rename the identifiers that are left.

import (
	"go/ast"
	"go/parser"
	"go/types"

	"golang.org/x/tools/go/ast/astutil"
)

// rewrite rewrites the plan's declarations for its task type, in place,
// and prints them.
func (p *plan) rewrite(names *fileNames) ([]byte, error) {
	locals := p.localNames(names)
	for _, u := range p.units {
		if err := p.rewriteDecl(u.decl, names, locals); err != nil {
			return nil, err
		}
	}
	return p.print(names)
}

// rewriteDecl runs the rewrite steps over one declaration, in order.
func (p *plan) rewriteDecl(decl ast.Decl, names *fileNames, locals func(types.Object) string) error {
	dropTypeParamLists(decl)
	p.removeHandlerPlumbing(decl)
	p.callHandler(decl)
	p.callAccessors(decl)
	p.dropInstantiations(decl)
	if err := p.substituteTypeParams(decl, names); err != nil {
		return err
	}
	p.prefixNames(decl)
	p.renameImports(decl, names)
	p.renameLocals(decl, names, locals)
	return nil
}

// dropTypeParamLists removes decl's type parameter lists: each type
// parameter is now the task type or the key type (ruleTypeParams).
// A method's receiver type parameters go with its instantiation
// (dropInstantiations).
func dropTypeParamLists(decl ast.Decl) {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		d.Type.TypeParams = nil
	case *ast.GenDecl:
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok {
				ts.TypeParams = nil
			}
		}
	}
}

// removeHandlerPlumbing deletes the uses of the batch handler that only
// generic code needs (ruleHandler): generated code calls the user's
// function by name, so the handler's fields and parameters, the elements
// that set them and the nil checks of it go. checkHandlerUses has made sure
// that nothing else uses the handler but the calls, which callHandler
// rewrites.
func (p *plan) removeHandlerPlumbing(decl ast.Decl) {
	if p.task.Handler == nil {
		return
	}
	astutil.Apply(decl, func(c *astutil.Cursor) bool {
		if p.handlerPlumbing(c) {
			c.Delete()
			return false
		}
		return true
	}, nil)
}

// callHandler makes each call of the batch handler a call of the user's
// function: p.handle(ctx, batch) becomes SaveOrders(ctx, batch).
func (p *plan) callHandler(decl ast.Decl) {
	if p.task.Handler == nil {
		return
	}
	ast.Inspect(decl, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && p.handlerIdent(call.Fun) != nil {
			call.Fun = &ast.Ident{NamePos: call.Fun.Pos(), Name: p.task.Handler.Name()}
		}
		return true
	})
}

// callAccessors replaces each call of a method that the task meets with a
// tagged field by a call of the generated accessor that reads the field
// (ruleMethods): t.Priority() becomes poolgenJobPriority(t), which returns
// t.Prio. Methods of the task's own are called as they are.
func (p *plan) callAccessors(decl ast.Decl) {
	astutil.Apply(decl, nil, func(c *astutil.Cursor) bool {
		call, ok := c.Node().(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if s := p.t.info.Selections[sel]; s != nil && isTypeParamRecv(s.Recv()) {
				if acc := p.accessors[sel.Sel.Name]; acc != "" {
					c.Replace(&ast.CallExpr{Fun: &ast.Ident{NamePos: call.Pos(), Name: acc}, Lparen: call.Lparen, Args: []ast.Expr{sel.X}, Rparen: call.Rparen})
				}
			}
		}
		return true
	})
}

// dropInstantiations removes the type arguments of instantiations of the
// package's generic declarations (ruleInstances): FixedPool[T] and
// BatchPool[T, K] become FixedPool and BatchPool, which prefixNames then
// renames. Other packages' generics keep theirs: poolimpl.Fixed[T].
func (p *plan) dropInstantiations(decl ast.Decl) {
	astutil.Apply(decl, nil, func(c *astutil.Cursor) bool {
		var x ast.Expr
		switch n := c.Node().(type) {
		case *ast.IndexExpr:
			x = n.X
		case *ast.IndexListExpr:
			x = n.X
		}
		if id, ok := x.(*ast.Ident); ok {
			if _, inst := p.t.info.Instances[id]; inst && p.t.info.Uses[id].Pkg() == p.t.pkg {
				c.Replace(id)
			}
		}
		return true
	})
}

// substituteTypeParams writes the task type for each use of a task type
// parameter (T becomes Resize, or *Resize when Run has a pointer
// receiver), and the key type for each use of a key type parameter
// (ruleTypeParams).
func (p *plan) substituteTypeParams(decl ast.Decl, names *fileNames) error {
	var err error
	p.eachIdent(decl, func(c *astutil.Cursor, id *ast.Ident, o types.Object) {
		tn, ok := o.(*types.TypeName)
		if !ok {
			return
		}
		switch p.params[tn] {
		case taskParam:
			var x ast.Expr = &ast.Ident{NamePos: id.Pos(), Name: p.task.Name}
			if p.task.Pointer {
				x = &ast.StarExpr{Star: id.Pos(), X: x}
			}
			c.Replace(x)
		case keyParam:
			keySrc := typeExpr(p.keys[tn], p.task.Obj.Pkg(), names) // checkTypeParams made sure there is a key
			x, perr := parser.ParseExpr(keySrc)
			if perr != nil {
				err = errorf("the key type of %s reads %q, which does not parse (poolgen bug): %v", p.task.Name, keySrc, perr)
				return
			}
			c.Replace(x)
		}
	})
	return err
}

// prefixNames renames the package-level template declarations and their
// uses (ruleNames): FixedPool becomes ResizeFixedPool, runBatch
// poolgenResizeRunBatch.
func (p *plan) prefixNames(decl ast.Decl) {
	p.eachIdent(decl, func(_ *astutil.Cursor, id *ast.Ident, o types.Object) {
		if n, ok := p.rename[o]; ok && o.Parent() == p.t.pkg.Scope() {
			id.Name = n
		}
	})
}

// renameImports writes each package qualifier with the name the file
// imports the package by (pgpoolrt when the user's package has a poolrt).
func (p *plan) renameImports(decl ast.Decl, names *fileNames) {
	p.eachIdent(decl, func(_ *astutil.Cursor, id *ast.Ident, o types.Object) {
		if pn, ok := o.(*types.PkgName); ok {
			id.Name = names.imports[pn.Imported().Path()]
		}
	})
}

// renameLocals gives a fresh name to each variable, constant, type or
// label declared inside a function whose name the generated file declares
// at package level (a task type, a handler, an import), which it would
// otherwise shadow.
func (p *plan) renameLocals(decl ast.Decl, names *fileNames, fresh func(types.Object) string) {
	p.eachIdent(decl, func(_ *astutil.Cursor, id *ast.Ident, o types.Object) {
		if isLocal(o) && names.introduced[o.Name()] {
			id.Name = fresh(o)
		}
	})
}

// localNames returns the function that renameLocals names a shadowing
// local by: its name with underscores added until it is neither a name
// the file introduces nor any identifier of the templates.
func (p *plan) localNames(names *fileNames) func(types.Object) string {
	all := map[string]bool{}
	for _, f := range p.t.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				all[id.Name] = true
			}
			return true
		})
	}
	chosen := map[types.Object]string{}
	return func(o types.Object) string {
		if n, ok := chosen[o]; ok {
			return n
		}
		n := o.Name()
		for names.introduced[n] || all[n] {
			n += "_"
		}
		chosen[o] = n
		return n
	}
}

// eachIdent calls f for each identifier of decl that the type checker
// recorded, with the object it declares or uses and a cursor at it.
func (p *plan) eachIdent(decl ast.Decl, f func(c *astutil.Cursor, id *ast.Ident, o types.Object)) {
	astutil.Apply(decl, nil, func(c *astutil.Cursor) bool {
		id, ok := c.Node().(*ast.Ident)
		if !ok {
			return true
		}
		o := p.t.info.Uses[id]
		if o == nil {
			o = p.t.info.Defs[id]
		}
		if o != nil {
			f(c, id, o)
		}
		return true
	})
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

// isLocal reports whether o is declared inside a function: a variable,
// constant, type or label whose scope is not the package's.
func isLocal(o types.Object) bool {
	if o.Parent() == nil || o.Parent() == types.Universe || o.Pkg() == nil || o.Parent() == o.Pkg().Scope() {
		return false
	}
	switch o := o.(type) {
	case *types.Var:
		return !o.IsField()
	case *types.PkgName:
		return false // its scope is the file's
	}
	return true
}
