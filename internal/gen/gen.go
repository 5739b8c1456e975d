// Package gen is poolgen's generator. It loads a Go package with
// go/packages, finds the task types to generate pools for (named by -type
// or marked with a //poolgen:pools directive), checks them, specializes the
// generic pools of package templates for each by a type-aware rewrite, and
// writes one gofmt'd file, atomically.
//
// The rewrite works on the type-checked templates: every use of a type
// parameter becomes the task type, every package-level template name gets
// the task type's name as a prefix, instantiations lose their type
// arguments, and imports get names that nothing in the user's package
// shadows. Because the task type is concrete in the output, its Run method
// (and every other method the pools call) is called directly.
package gen

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"
	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/packages"

	"github.com/poolgen/poolgen/runtime/poolimpl"
	"golang.org/x/tools/imports"
)

// Config is one poolgen run.
type Config struct {
	// Dir is the package directory (default ".").
	Dir string
	// Types names the task types. Empty means every type in the package
	// whose doc comment has a //poolgen:pools directive.
	Types []string
	// Pools, if set, overrides the patterns of the directives.
	Pools []string
	// Output is the file to write, relative to Dir unless absolute
	// (default <first type, lower case>_pool.go, or poolgen_pools.go
	// without Types).
	Output string
	// Tags are build tags for loading the package.
	Tags []string
	// Args is the command line as written in the //go:generate line,
	// quoted in the output's header.
	Args []string
	// Invoked is where poolgen was invoked from (go generate's $GOFILE
	// and $GOLINE), for errors that have no other place.
	Invoked token.Position
}

// Output is a generated file, not yet written.
type Output struct {
	Path   string
	Source []byte
	Tasks  []*TaskSpec
}

// OutputPath returns the path Generate writes for cfg.
func (cfg *Config) OutputPath() string {
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	out := cfg.Output
	if out == "" {
		if len(cfg.Types) > 0 {
			out = strings.ToLower(cfg.Types[0]) + "_pool.go"
		} else {
			out = "poolgen_pools.go"
		}
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(dir, out)
	}
	if abs, err := filepath.Abs(out); err == nil {
		out = abs // go/packages overlays need absolute paths
	}
	return out
}

// Generate produces the pools for cfg without writing anything.
func Generate(cfg Config) (*Output, error) {
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	outPath := cfg.OutputPath()
	if !cfg.Invoked.IsValid() {
		cfg.Invoked = token.Position{Filename: dir}
	}
	l, err := load(dir, cfg.Tags, outPath)
	if err != nil {
		return nil, err
	}
	specs, err := findTasks(l.user, l.tmpl.Types, cfg.Types, cfg.Pools, cfg.Invoked)
	if err != nil {
		return nil, err
	}

	// Plan every task type, then check that nothing the file would declare
	// is taken in the package.
	var plans []*plan
	for _, s := range specs {
		t, err := parseTemplates(l.tmpl)
		if err != nil {
			return nil, err
		}
		p, err := planFor(t, s)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if err := checkOthers(l.others, plans, outPath); err != nil {
		return nil, err
	}
	names, err := chooseNames(l.user, plans)
	if err != nil {
		return nil, err
	}

	src, err := assemble(cfg, l.user, plans, names)
	if err != nil {
		return nil, err
	}
	if err := verify(dir, cfg.Tags, outPath, src); err != nil {
		return nil, err
	}
	return &Output{Path: outPath, Source: src, Tasks: specs}, nil
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
		names.introduced[p.spec.Name] = true
		if p.spec.Handler != nil {
			names.introduced[p.spec.Handler.Name()] = true
		}
		var gen []string
		for _, n := range p.rename {
			gen = append(gen, n)
		}
		for _, n := range p.accessors {
			gen = append(gen, n)
		}
		slices.Sort(gen)
		for _, n := range gen {
			if other := declaredBy[n]; other != nil && other != p.spec {
				errs.add(p.spec.Pos, "the pools of %s and %s would both declare %s", other.Name, p.spec.Name, n)
			}
			declaredBy[n] = p.spec
			names.introduced[n] = true
			if o := scope.Lookup(n); o != nil {
				errs.add(fset.Position(o.Pos()), "%s is already declared in package %s, but poolgen declares it for task type %s; "+
					"rename yours (if it is in an old poolgen output, delete that file)", n, pkg.Name, p.spec.Name)
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
	paths := map[string]string{"context": "context"} // the glue uses context
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

// assemble builds the file: jennifer renders the header, the package
// clause, the imports and the per-type glue; the specialized templates
// follow; gofmt formats the whole.
func assemble(cfg Config, pkg *packages.Package, plans []*plan, names *fileNames) ([]byte, error) {
	f := jen.NewFilePathName(pkg.PkgPath, pkg.Name)
	f.HeaderComment(fmt.Sprintf("Code generated by %q; DO NOT EDIT.", strings.Join(append([]string{"poolgen"}, cfg.Args...), " ")))
	for path, name := range names.imports {
		if name == lastElem(path) {
			f.ImportName(path, name)
		} else {
			f.ImportAlias(path, name)
		}
	}
	versionGuard(f)
	for _, p := range plans {
		glue(f, p, pkg.Types, names)
	}
	var head bytes.Buffer
	if err := f.Render(&head); err != nil {
		return nil, errorf("rendering glue: %v", err)
	}

	// Add the imports only the templates use.
	fset := token.NewFileSet()
	hf, err := parser.ParseFile(fset, "", head.Bytes(), parser.ParseComments)
	if err != nil {
		return nil, errorf("parsing glue: %v", err)
	}
	for path, name := range names.imports {
		if name == lastElem(path) {
			astutil.AddImport(fset, hf, path)
		} else {
			astutil.AddNamedImport(fset, hf, name, path)
		}
	}
	var out bytes.Buffer
	if err := printer.Fprint(&out, fset, hf); err != nil {
		return nil, errorf("printing glue: %v", err)
	}
	for _, p := range plans {
		body, err := p.specialize(names)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&out, "\n// Pools for %s (%s), specialized from %s.\n\n", p.spec.Elem(), strings.Join(p.spec.Patterns, ", "), TemplatesPath)
		out.Write(body)
	}
	// goimports-style formatting: gofmt, plus the standard library's
	// imports grouped apart from the others.
	src, err := imports.Process("pool.go", out.Bytes(), &imports.Options{FormatOnly: true, Comments: true, TabIndent: true, TabWidth: 8})
	if err != nil {
		return nil, errorf("generated code does not parse (poolgen bug): %v", err)
	}
	return src, nil
}

// versionGuard emits the two constant conversions that fail to compile
// when the runtime does not serve this file's version of generated code
// (see poolimpl.MinVersion): the type named in the error says what to do.
func versionGuard(f *jen.File) {
	v := jen.Lit(poolimpl.CurrentVersion)
	f.Comment("The runtime serves this file's version of generated code: if a line below fails")
	f.Comment("to compile, its type's name says what to do.")
	f.Const().Defs(
		jen.Id("_").Op("=").Qual(ImplPath, "StaleFileRunGoGenerate").Call(v.Clone().Op("-").Qual(ImplPath, "MinVersion")),
		jen.Id("_").Op("=").Qual(ImplPath, "StaleRuntimeUpdatePoolgen").Call(jen.Qual(ImplPath, "CurrentVersion").Op("-").Add(v.Clone())),
	)
}

// glue emits, for one task type, the compile-time checks that the methods
// and the batch handler its pools call still have the signatures they were
// generated for, and the accessors that read its tagged fields.
func glue(f *jen.File, p *plan, own *types.Package, names *fileNames) {
	s := p.spec
	typ := func(t types.Type) *jen.Statement { return jen.Id(typeExpr(t, own, names)) }
	elem := jen.Id(s.Name)
	if s.Pointer {
		elem = jen.Op("*").Id(s.Name)
	}

	var methods []jen.Code
	var listed []string
	if s.Obj.Type().Underlying() != nil && hasRunPool(s) {
		methods = append(methods, jen.Id("Run").Params(jen.Qual("context", "Context")).Error())
		listed = append(listed, "Run")
	}
	for _, m := range sortedKeys(s.Bind) {
		if b := s.Bind[m]; b.Own {
			methods = append(methods, jen.Id(m).Params().Add(typ(b.Result)))
			listed = append(listed, m)
		}
	}
	if len(methods) > 0 {
		var zero *jen.Statement
		switch _, isStruct := s.Obj.Type().Underlying().(*types.Struct); {
		case s.Pointer:
			zero = jen.Parens(jen.Op("*").Id(s.Name)).Parens(jen.Nil())
		case isStruct:
			zero = jen.Id(s.Name).Values()
		default:
			zero = jen.Op("*").New(jen.Id(s.Name))
		}
		f.Commentf("%s must keep the methods its pools were generated for (%s): if this line fails to compile, fix them or rerun go generate.",
			s.Name, strings.Join(listed, ", "))
		f.Var().Id("_").Interface(methods...).Op("=").Add(zero)
	}
	if s.Handler != nil {
		f.Commentf("%s handles %s's batches: if this line fails to compile, fix its signature or rerun go generate.", s.Handler.Name(), s.Name)
		f.Var().Id("_").Func().Params(jen.Qual("context", "Context"), jen.Index().Add(elem.Clone())).Error().Op("=").Id(s.Handler.Name())
	}
	for _, m := range sortedKeys(p.accessors) {
		b, name := s.Bind[m], p.accessors[m]
		if b.None {
			f.Commentf("%s returns %s's batch key: it has none, so all its tasks batch together.", name, s.Name)
			f.Func().Id(name).Params(elem.Clone()).Struct().Block(jen.Return(jen.Struct().Values()))
			continue
		}
		read := jen.Id("t")
		for _, f := range b.Path {
			read = read.Dot(f)
		}
		if !types.Identical(b.Field.Type(), b.Result) {
			read = typ(b.Result).Call(read) // an integer field read as int64
		}
		f.Commentf("%s returns %s's %s: its field %s, tagged poolgen:%q.", name, s.Name, roleTitle(roleOf(m)), strings.Join(b.Path, "."), roleOf(m))
		f.Func().Id(name).Params(jen.Id("t").Add(elem.Clone())).Add(typ(b.Result)).Block(jen.Return(read))
	}
}

func roleTitle(role string) string {
	if role == "batchkey" {
		return "batch key"
	}
	return role
}

// hasRunPool reports whether any of the task's pools runs its Run method.
func hasRunPool(s *TaskSpec) bool {
	return slices.ContainsFunc(s.Pools, func(p PoolSpec) bool { return p.Pattern != "batch" })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lastElem returns what an import path's package is called when the path
// ends in its name (jennifer then writes no alias).
func lastElem(path string) string {
	if path == RuntimePath {
		return "" // package poolrt in directory runtime: always aliased
	}
	return path[strings.LastIndexByte(path, '/')+1:]
}

// verify type-checks the package with the generated file in place, so
// that poolgen never writes code that does not compile.
func verify(dir string, tags []string, outPath string, src []byte) error {
	cfg := &packages.Config{
		Mode:    packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedFiles | packages.NeedCompiledGoFiles,
		Dir:     dir,
		Overlay: map[string][]byte{outPath: src},
	}
	if len(tags) > 0 {
		cfg.BuildFlags = []string{"-tags=" + strings.Join(tags, ",")}
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return errorf("checking the generated code: %v", err)
	}
	abs, _ := filepath.Abs(outPath)
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			pos := errPos(e)
			if a, _ := filepath.Abs(pos.Filename); a == abs {
				errs = append(errs, e.Error())
			}
		}
	}
	if len(errs) > 0 {
		return errorf("the generated code does not compile (please report this poolgen bug):\n\t%s", strings.Join(errs, "\n\t"))
	}
	return nil
}

// Write writes out atomically: to a temporary file in the same directory,
// then renamed over the target. It never overwrites a file that lacks
// poolgen's header, and leaves an identical file untouched.
func Write(out *Output) error {
	old, err := os.ReadFile(out.Path)
	switch {
	case err == nil && !isPoolgenOutput(old):
		return errorf("refusing to overwrite %s: it lacks poolgen's header", out.Path)
	case err == nil && bytes.Equal(old, out.Source):
		return nil
	case err != nil && !os.IsNotExist(err):
		return errorf("%v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out.Path), ".poolgen-*.go.tmp")
	if err != nil {
		return errorf("%v", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(out.Source); err != nil {
		tmp.Close()
		return errorf("writing %s: %v", out.Path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return errorf("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return errorf("writing %s: %v", out.Path, err)
	}
	if err := os.Rename(tmp.Name(), out.Path); err != nil {
		return errorf("%v", err)
	}
	return nil
}

// Run generates and writes: what the poolgen command does.
func Run(cfg Config) error {
	out, err := Generate(cfg)
	if err != nil {
		return err
	}
	return Write(out)
}
