package gen

import (
	"fmt"
	"go/token"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Error is a problem with poolgen's input, at a position in the user's
// source when one is known.
type Error struct {
	Pos token.Position // invalid when the problem has no place in a file
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.IsValid() {
		return e.Pos.String() + ": " + e.Msg
	}
	return "poolgen: " + e.Msg
}

// ErrorList is every problem found, sorted by position. Generate reports
// all of them at once, so that one run shows everything to fix.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l *ErrorList) add(pos token.Position, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// err returns the list as an error, sorted, each problem once, or nil if
// it is empty. A problem can be found more than once: the templates are
// checked once per task type.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	var out ErrorList
	seen := map[Error]bool{}
	for _, e := range l {
		if !seen[*e] {
			seen[*e] = true
			out = append(out, e)
		}
	}
	return out
}

func errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// errPos parses the "file:line:col" position go/packages reports.
func errPos(e packages.Error) token.Position {
	var p token.Position
	if e.Pos == "" || e.Pos == "-" {
		return p
	}
	parts := strings.Split(e.Pos, ":")
	p.Filename = parts[0]
	if len(parts) > 1 {
		fmt.Sscan(parts[1], &p.Line)
	}
	if len(parts) > 2 {
		fmt.Sscan(parts[2], &p.Column)
	}
	if p.Line == 0 {
		p.Line = 1
	}
	return p
}
