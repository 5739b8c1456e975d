package gen

// This file holds specialize's rewrite of comments: doc comments follow
// the rename of what they document, and comments elsewhere in the
// template code name the task type and the renamed declarations and
// imports.

import (
	"go/ast"
	"regexp"
	"strings"
)

// rewriteDoc renames the first word of the doc comments that start with
// the declared name (ruleDocs): "runBatch runs ..." becomes
// "poolgenResizeRunBatch runs ...". Other words are left alone:
// unexported names are often plain English.
func (p *plan) rewriteDoc(decl ast.Decl) {
	for _, d := range docs(decl) {
		o := p.t.info.Defs[d.name]
		if d.doc == nil || o == nil {
			continue
		}
		c := d.doc.List[0]
		if rest, ok := strings.CutPrefix(c.Text, docPrefix(o.Name())); ok {
			c.Text = docPrefix(p.rename[o]) + rest
		}
	}
}

// commentWords are the words rewriteComment renames.
type commentWords struct {
	exported map[string]string // exported template names: FixedPool → ResizeFixedPool
	params   map[string]string // the task type parameter of the declaration at hand: T → Resize
	imports  map[string]string // package names of renamed imports: poolrt → pgpoolrt
}

var wordRE = regexp.MustCompile(`\b[A-Za-z_][A-Za-z0-9_]*(\.[A-Z])?`)

// rewriteComment renames, in comment text, exported template names
// (FixedPool → ResizeFixedPool), the task type parameter (T → Resize), and
// the package names of renamed imports where they qualify a name
// (poolrt.OnPanic → pgpoolrt.OnPanic); an article before a renamed word
// follows its new first letter.
func rewriteComment(text string, words commentWords) string {
	renamed := map[string]bool{}
	text = wordRE.ReplaceAllStringFunc(text, func(w string) string {
		n := words.rename(w)
		if n != w {
			name, _, _ := strings.Cut(strings.TrimPrefix(n, "*"), ".")
			renamed[name] = true
		}
		return n
	})
	// "A FixedPool" became "A EmailFixedPool": the article follows the
	// new name's first letter (a vowel letter takes "an").
	return articleRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := articleRE.FindStringSubmatch(m)
		article, rest := sub[1], sub[2]
		if !renamed[strings.TrimPrefix(rest, "*")] {
			return m
		}
		want := "a"
		if strings.ContainsRune("AEIOUaeiou", rune(strings.TrimPrefix(rest, "*")[0])) {
			want = "an"
		}
		if article[0] == 'A' {
			want = upperFirst(want)
		}
		return want + " " + rest
	})
}

// articleRE matches an article and the word after it.
var articleRE = regexp.MustCompile(`\b(An|an|A|a) (\*?[A-Za-z_][A-Za-z0-9_]*)`)

// rename is rewriteComment's renaming of one word: a name, or a name
// qualified by a package or type name (poolrt.OnPanic, FixedPool.Submit).
func (words commentWords) rename(w string) string {
	if pkg, rest, ok := strings.Cut(w, "."); ok {
		if alias, ok := words.imports[pkg]; ok {
			return alias + "." + rest
		}
		if n, ok := words.exported[pkg]; ok {
			return n + "." + rest
		}
		return w
	}
	if n, ok := words.exported[w]; ok {
		return n
	}
	if n, ok := words.params[w]; ok {
		return n
	}
	return w
}
