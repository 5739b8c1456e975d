package gen

import (
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

// Patterns lists the pool patterns poolgen knows, and the generic types in
// package templates that each is specialized from. A pattern with several
// types (priority: by priority, deadline or cost) generates those the task
// type supports, at least one.
var Patterns = map[string][]string{
	"fixed":    {"FixedPool"},
	"dynamic":  {"DynamicPool"},
	"stealing": {"StealingPool"},
	"priority": {"PriorityPool", "DeadlinePool", "CostPool"},
	"batch":    {"BatchPool"},
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
