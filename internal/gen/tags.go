package gen

// This file holds check's reading of struct tags: the fields of a task type
// tagged `poolgen:"role"`, those of the structs it embeds included, and the
// package-wide checks that every poolgen tag is well formed and read.

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
		case roles[role] == "" && role != timeoutRole:
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
