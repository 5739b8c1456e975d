package gen

import (
	"go/ast"
	"go/token"
	"strings"
	"testing"
	"unicode"
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
