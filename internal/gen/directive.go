package gen

// This file holds check's reading of directives: the syntax of
// //poolgen: comments, where they may stand, what a comment that looks
// like one but is not one is told, and the task types that the package's
// //go:generate lines name.

import (
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/tools/go/packages"
)

// Directives are line comments in a type's doc comment:
//
//	//poolgen:pools fixed,stealing
//
// Like //go: directives they have no space after the slashes.
const directivePrefix = "//poolgen:"

// directive is one parsed //poolgen: line.
type directive struct {
	name string   // "pools"
	args []string // the words after the name
	pos  []token.Pos
	at   token.Pos // the comment's position
}

// parseDirective parses c if it is a poolgen directive.
func parseDirective(c *ast.Comment) (directive, bool) {
	if !strings.HasPrefix(c.Text, directivePrefix) {
		return directive{}, false
	}
	rest := c.Text[len(directivePrefix):]
	d := directive{at: c.Pos()}
	i := strings.IndexFunc(rest, unicode.IsSpace)
	if i < 0 {
		i = len(rest)
	}
	d.name = rest[:i]
	// Arguments: words separated by commas and/or spaces, each with its
	// position so that an error can point at the bad one.
	off := len(directivePrefix) + i
	for off < len(c.Text) {
		for off < len(c.Text) && (c.Text[off] == ',' || unicode.IsSpace(rune(c.Text[off]))) {
			off++
		}
		start := off
		for off < len(c.Text) && c.Text[off] != ',' && !unicode.IsSpace(rune(c.Text[off])) {
			off++
		}
		if off > start {
			d.args = append(d.args, c.Text[start:off])
			d.pos = append(d.pos, c.Pos()+token.Pos(start))
		}
	}
	return d, true
}

// directiveNames are the directives poolgen knows.
var directiveNames = []string{"pools", "batch"}

// nearMiss reports whether c looks like a poolgen directive that poolgen
// does not read as one: a space after the slashes (// poolgen:pools), an
// upper-case letter (//Poolgen:pools), or a block comment. It returns what
// is wrong and the directive as it should be written.
func nearMiss(c *ast.Comment) (why, fix string, ok bool) {
	text := c.Text
	block := strings.HasPrefix(text, "/*")
	body := text[2:]
	if block {
		body = strings.TrimSuffix(body, "*/")
	}
	trimmed := strings.TrimLeft(body, " \t")
	const word = "poolgen:"
	if len(trimmed) <= len(word) || !strings.EqualFold(trimmed[:len(word)], word) {
		return "", "", false
	}
	rest := trimmed[len(word):]
	i := strings.IndexFunc(rest, unicode.IsSpace)
	if i < 0 {
		i = len(rest)
	}
	name := strings.ToLower(rest[:i])
	if !slices.Contains(directiveNames, name) {
		return "", "", false // prose, such as "poolgen: invalid option"
	}
	fix = directivePrefix + name + strings.TrimRightFunc(rest[i:], unicode.IsSpace)
	switch {
	case block:
		why = "poolgen reads directives from line comments only, not from /* */ comments"
	case len(trimmed) < len(body):
		why = "a directive has no space after the slashes (as with //go: directives)"
	default:
		why = "directives are lower case"
	}
	return why, fix, true
}

// generateTypes returns the task types that the package's //go:generate
// lines name with poolgen's -type flag: those another poolgen run
// generates.
func generateTypes(pkg *packages.Package) []string {
	var out []string
	for _, f := range pkg.Syntax {
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				line, ok := strings.CutPrefix(c.Text, "//go:generate ")
				if !ok {
					continue
				}
				words := strings.Fields(line)
				poolgen := false
				for i, w := range words {
					if path.Base(w) == "poolgen" {
						poolgen = true
						continue
					}
					flag := strings.TrimPrefix(strings.TrimPrefix(w, "-"), "-")
					if !poolgen || flag == w {
						continue
					}
					if v, ok := strings.CutPrefix(flag, "type="); ok {
						out = append(out, strings.Split(v, ",")...)
					} else if flag == "type" && i+1 < len(words) {
						out = append(out, strings.Split(words[i+1], ",")...)
					}
				}
			}
		}
	}
	return out
}

// typeDecl is a type declaration of the user's package and the poolgen
// directives in its doc comment.
type typeDecl struct {
	spec     *ast.TypeSpec
	dirs     []directive
	comments []*ast.Comment // the directives' comments
}

// scanDirectives finds every //poolgen: comment in the package. Those in a
// type's doc comment are returned by type name; any other is an error, as
// is an unknown directive and a comment that looks like a directive but is
// not one (// poolgen:pools, with a space).
func scanDirectives(pkg *packages.Package, errs *ErrorList) map[string]*typeDecl {
	fset := pkg.Fset
	out := map[string]*typeDecl{}
	for _, f := range pkg.Syntax {
		attached := map[*ast.Comment]bool{}
		for _, td := range typeDecls(f) {
			for _, c := range td.comments {
				attached[c] = true
			}
			if len(td.dirs) > 0 {
				out[td.spec.Name.Name] = td
			}
		}
		generated := ast.IsGenerated(f)
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				dir, ok := parseDirective(c)
				if !ok {
					if why, fix, near := nearMiss(c); near && !generated {
						errs.add(fset.Position(c.Pos()), "%s is not a poolgen directive: %s; write %s", c.Text, why, fix)
					}
					continue
				}
				switch {
				case !attached[c]:
					errs.add(fset.Position(c.Pos()), "%s must be in the doc comment of a type declaration, directly above it: %s", c.Text, misplaced(f, cg, fset))
				case !slices.Contains(directiveNames, dir.name):
					if why, fix, near := nearMiss(c); near {
						errs.add(fset.Position(c.Pos()), "unknown directive %s%s: %s; write %s", directivePrefix, dir.name, why, fix)
					} else {
						errs.add(fset.Position(c.Pos()), "unknown directive %s%s (known: %spools, %sbatch)", directivePrefix, dir.name, directivePrefix, directivePrefix)
					}
				}
			}
		}
	}
	return out
}

// typeDecls returns the package-level type declarations of f, each with
// the poolgen directives of its doc comment and those comments.
func typeDecls(f *ast.File) []*typeDecl {
	var out []*typeDecl
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, s := range g.Specs {
			ts := s.(*ast.TypeSpec)
			docs := []*ast.CommentGroup{ts.Doc}
			if len(g.Specs) == 1 || !g.Lparen.IsValid() {
				docs = append(docs, g.Doc)
			}
			td := &typeDecl{spec: ts}
			for _, cg := range docs {
				if cg == nil {
					continue
				}
				for _, c := range cg.List {
					if dir, ok := parseDirective(c); ok {
						td.comments = append(td.comments, c)
						td.dirs = append(td.dirs, dir)
					}
				}
			}
			out = append(out, td)
		}
	}
	return out
}

// misplaced says where a directive that is in no type's doc comment is,
// and how to move it there.
func misplaced(f *ast.File, cg *ast.CommentGroup, fset *token.FileSet) string {
	line := func(p token.Pos) int { return fset.Position(p).Line }
	var prev, next ast.Decl
	for _, d := range f.Decls {
		start, end := declRange(d)
		switch {
		case cg.Pos() >= start && cg.End() <= end:
			return inside(d, cg, line)
		case end <= cg.Pos():
			prev = d
		case next == nil && start >= cg.End():
			next = d
		}
	}
	if name := typeName(prev); name != "" && line(cg.Pos()) == line(prev.End()) {
		return fmt.Sprintf("it follows type %s on the same line; move it to a line of its own directly above type %s", name, name)
	}
	if name := typeName(next); name != "" {
		return fmt.Sprintf("a blank line or other text separates it from type %s; "+
			"make it part of the comment block that ends on the line directly above type %s", name, name)
	}
	if name := typeName(prev); name != "" {
		return fmt.Sprintf("it follows type %s; move it to a line of its own directly above type %s", name, name)
	}
	return "move it to the doc comment of the task type"
}

// inside describes a directive inside (or in the doc comment of) the
// declaration d.
func inside(d ast.Decl, cg *ast.CommentGroup, line func(token.Pos) int) string {
	if fd, ok := d.(*ast.FuncDecl); ok {
		what := "func " + fd.Name.Name
		if fd.Recv != nil {
			what = "method " + fd.Name.Name
		}
		if fd.Doc == cg {
			return "it is in the doc comment of " + what + "; move it to the doc comment of the task type"
		}
		return "it is inside " + what + "; move it to the doc comment of the task type"
	}
	g := d.(*ast.GenDecl)
	if g.Tok != token.TYPE {
		return "it is on a " + g.Tok.String() + " declaration; move it to the doc comment of the task type"
	}
	if g.Doc == cg {
		return "it is on a type ( ... ) group of several types; move it to the doc comment of the type in the group that it is for"
	}
	for _, s := range g.Specs {
		ts := s.(*ast.TypeSpec)
		if cg.Pos() >= ts.Pos() && cg.End() <= ts.End() || line(cg.Pos()) == line(ts.End()) {
			return fmt.Sprintf("it is inside the declaration of type %s or after it on its line; move it to a line of its own directly above type %s, in its doc comment", ts.Name.Name, ts.Name.Name)
		}
	}
	return "move it to the doc comment of the type in the group that it is for"
}

// typeName returns the name of the type d declares, if d declares one
// type.
func typeName(d ast.Decl) string {
	if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE && len(g.Specs) == 1 {
		return g.Specs[0].(*ast.TypeSpec).Name.Name
	}
	return ""
}

func hasDirective(td *typeDecl, name string) bool {
	return slices.ContainsFunc(td.dirs, func(d directive) bool { return d.name == name })
}
