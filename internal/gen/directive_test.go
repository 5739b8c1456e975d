package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/tools/go/packages"
)

func TestParseDirective(t *testing.T) {
	cases := []struct {
		text string
		ok   bool
		name string
		args []string
	}{
		{"//poolgen:pools fixed", true, "pools", []string{"fixed"}},
		{"//poolgen:pools fixed,stealing", true, "pools", []string{"fixed", "stealing"}},
		{"//poolgen:pools  fixed , stealing,,priority ", true, "pools", []string{"fixed", "stealing", "priority"}},
		{"//poolgen:pools", true, "pools", nil},
		{"//poolgen:batch SaveOrders", true, "batch", []string{"SaveOrders"}},
		{"// poolgen:pools fixed", false, "", nil}, // a space makes it prose, as with //go:
		{"//go:generate poolgen", false, "", nil},
		{"/* poolgen:pools fixed */", false, "", nil},
	}
	for _, c := range cases {
		d, ok := parseDirective(&ast.Comment{Slash: 100, Text: c.text})
		if ok != c.ok || d.name != c.name || strings.Join(d.args, "|") != strings.Join(c.args, "|") {
			t.Errorf("parseDirective(%q) = %q %q %v, want %q %q %v", c.text, d.name, d.args, ok, c.name, c.args, c.ok)
		}
		for i, a := range d.args {
			off := int(d.pos[i] - 100)
			if c.text[off:off+len(a)] != a {
				t.Errorf("parseDirective(%q): arg %q at offset %d points at %q", c.text, a, off, c.text[off:])
			}
		}
	}
}

// FuzzDirective checks that any comment parses without panicking, that
// arguments are non-empty words without separators, and that each
// argument's position points at it in the comment.
func FuzzDirective(f *testing.F) {
	for _, s := range []string{"//poolgen:pools fixed", "//poolgen:pools a,b c", "//poolgen:", "//poolgen:x\t,\u00a0y", "//poolgen:pools ,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		const base = token.Pos(1000)
		d, ok := parseDirective(&ast.Comment{Slash: base, Text: text})
		if ok != strings.HasPrefix(text, directivePrefix) {
			t.Fatalf("ok = %v for %q", ok, text)
		}
		if !ok {
			return
		}
		if strings.IndexFunc(d.name, unicode.IsSpace) >= 0 {
			t.Fatalf("name %q has a space", d.name)
		}
		if len(d.args) != len(d.pos) {
			t.Fatalf("%d args, %d positions", len(d.args), len(d.pos))
		}
		for i, a := range d.args {
			if a == "" || strings.ContainsAny(a, ", \t\n") {
				t.Fatalf("bad arg %q in %q", a, text)
			}
			off := int(d.pos[i] - base)
			if off < 0 || off+len(a) > len(text) || text[off:off+len(a)] != a {
				t.Fatalf("arg %q position %d does not point at it in %q", a, off, text)
			}
		}
	})
}

func TestNearMiss(t *testing.T) {
	cases := []struct{ text, why, fix string }{
		{"// poolgen:pools fixed,dynamic", "no space", "//poolgen:pools fixed,dynamic"},
		{"//\tpoolgen:batch Save ", "no space", "//poolgen:batch Save"},
		{"//Poolgen:pools fixed", "lower case", "//poolgen:pools fixed"},
		{"//POOLGEN:POOLS fixed", "lower case", "//poolgen:pools fixed"},
		{"//poolgen:Batch Save", "lower case", "//poolgen:batch Save"},
		{"/* poolgen:pools fixed */", "line comments", "//poolgen:pools fixed"},
		{"/*poolgen:pools*/", "line comments", "//poolgen:pools"},
		{"// poolgen: invalid option", "", ""},
		{"// poolgen:poolz fixed", "", ""},
		{"// poolgen:", "", ""},
		{"// see poolgen:pools", "", ""},
		{"//go:generate poolgen", "", ""},
	}
	for _, c := range cases {
		why, fix, ok := nearMiss(&ast.Comment{Text: c.text})
		if ok != (c.why != "") || !strings.Contains(why, c.why) || fix != c.fix {
			t.Errorf("nearMiss(%q) = %q, %q, %v; want %q…, %q", c.text, why, fix, ok, c.why, c.fix)
		}
	}
}

// TestMisplaced checks what a directive in no type's doc comment is told,
// wherever it is.
func TestMisplaced(t *testing.T) {
	src := `package p

//poolgen:pools fixed
var v int

type (
	//poolgen:pools fixed

	A struct{}
	B struct{}
)

//poolgen:pools fixed
type (
	C struct{}
	D struct{}
)

type E struct {
	//poolgen:pools fixed
	N int
}

func f() {
	//poolgen:pools fixed
}

//poolgen:pools fixed
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var errs ErrorList
	scanDirectives(&packages.Package{Fset: fset, Syntax: []*ast.File{f}}, &errs)
	want := []string{
		"p.go:3:1: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: it is on a var declaration; move it to the doc comment of the task type",
		"p.go:7:2: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: move it to the doc comment of the type in the group that it is for",
		"p.go:13:1: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: it is on a type ( ... ) group of several types; move it to the doc comment of the type in the group that it is for",
		"p.go:20:2: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: it is inside the declaration of type E or after it on its line; move it to a line of its own directly above type E, in its doc comment",
		"p.go:25:2: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: it is inside func f; move it to the doc comment of the task type",
		"p.go:28:1: //poolgen:pools fixed must be in the doc comment of a type declaration, directly above it: move it to the doc comment of the task type",
	}
	if got := errs.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestGenerateTypes(t *testing.T) {
	// The lines are built so that go generate, which runs every line of
	// a Go file that starts with //go:generate, raw strings included,
	// does not run them.
	const gen = "//go:" + "generate "
	src := "package p\n\n" +
		gen + "go tool poolgen -type=A,B\n" +
		gen + "go run github.com/poolgen/poolgen/cmd/poolgen --type C -output=c.go\n" +
		gen + "stringer -type=D\n" +
		gen + "poolgen -pools=fixed\n" +
		"// go:generate poolgen -type=E\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if got := generateTypes(&packages.Package{Syntax: []*ast.File{f}}); strings.Join(got, ",") != "A,B,C" {
		t.Errorf("generateTypes = %q, want A, B, C", got)
	}
}
