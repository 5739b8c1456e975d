package readme_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the module's root directory, relative to this package's.
const root = "../.."

// snippet is one ```go block of the README.
type snippet struct {
	line int    // the README line of the block's first line of code
	kind string // from the <!-- snippet: kind --> comment above the fence
	src  string // the code, its indentation within the README removed
}

var (
	fenceRE  = regexp.MustCompile("^([ \t]*)```(\\S*)[ \t]*$")
	markerRE = regexp.MustCompile(`^[ \t]*<!-- snippet: (\w+)\b.*-->[ \t]*$`)
)

// kinds are the snippet kinds the tests know.
var kinds = []string{"decls", "lane", "file"}

// snippets returns the ```go blocks of md, reporting malformed fences.
func snippets(t *testing.T, md string) []snippet {
	t.Helper()
	lines := strings.Split(md, "\n")
	var out []snippet
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, lang := m[1], m[2]
		start := i + 1
		end := start
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("README.md:%d: the ``` fence is never closed", i+1)
		}
		i = end
		if lang != "go" {
			continue
		}
		s := snippet{line: start + 1}
		for j := start - 2; j >= 0; j-- { // the lines above the fence
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if mm := markerRE.FindStringSubmatch(lines[j]); mm != nil {
				s.kind = mm[1]
			}
			break
		}
		var b strings.Builder
		for _, l := range lines[start:end] {
			b.WriteString(strings.TrimPrefix(l, indent))
			b.WriteByte('\n')
		}
		s.src = b.String()
		out = append(out, s)
	}
	return out
}

func readme(t *testing.T) []snippet {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := snippets(t, string(b))
	if len(s) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	return s
}

// TestSnippetsMarked: every ```go block says how it is checked, so that
// none goes unchecked.
func TestSnippetsMarked(t *testing.T) {
	for _, s := range readme(t) {
		if !slices.Contains(kinds, s.kind) {
			t.Errorf("README.md:%d: a ```go block without a <!-- snippet: KIND --> comment above it (KIND one of %s; see internal/readme's package doc)",
				s.line-1, strings.Join(kinds, ", "))
		}
	}
}

// TestSnippetsParse: every snippet is Go as written (no "..." in place of
// code), and a lane is the loop of templates/task.go.
func TestSnippetsParse(t *testing.T) {
	task, err := os.ReadFile(filepath.Join(root, "templates", "task.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range readme(t) {
		src, _ := s.file("app")
		if _, err := parser.ParseFile(token.NewFileSet(), "snippet.go", src, parser.SkipObjectResolution); err != nil {
			t.Errorf("README.md:%d: the %s snippet is not Go: %v", s.line, s.kind, err)
		}
		if s.kind == "lane" && !strings.Contains(string(task), indent(s.src, "\t")) {
			t.Errorf("README.md:%d: the lane is not templates/task.go's:\n%s", s.line, s.src)
		}
	}
}

// indent puts prefix before every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// knownImports are the packages a decls snippet may use without importing
// them, by name.
var knownImports = map[string]string{
	"context":   "context",
	"errors":    "errors",
	"fmt":       "fmt",
	"slog":      "log/slog",
	"time":      "time",
	"poolrt":    "github.com/poolgen/poolgen/runtime",
	"templates": "github.com/poolgen/poolgen/templates",
	"poolimpl":  "github.com/poolgen/poolgen/runtime/poolimpl",
}

// file returns the snippet as a Go file of package pkg: its own code
// after a //line comment, so that errors point into the README, with what
// its kind needs around it. dir is the subdirectory it belongs in ("" for
// the package of decls and lanes).
func (s snippet) file(pkg string) (src, dir string) {
	readmePath, _ := filepath.Abs(filepath.Join(root, "README.md"))
	at := fmt.Sprintf("//line %s:%d\n", readmePath, s.line)
	switch s.kind {
	case "file":
		return at + s.src, fmt.Sprintf("file%d", s.line)
	case "lane":
		return "package " + pkg + "\n\n" +
			"import (\n\t" + strconv.Quote(knownImports["templates"]) + "\n\t" + strconv.Quote(knownImports["poolimpl"]) + "\n)\n\n" +
			fmt.Sprintf("func lane%d[T templates.Task](w *poolimpl.Worker[T]) {\n\tctx := w.Context()\n", s.line) +
			at + s.src + "}\n", ""
	}
	head := "package " + pkg + "\n\n"
	var imports []string
	for _, name := range missingImports(head + s.src) {
		path := knownImports[name]
		if name == filepath.Base(path) {
			name = ""
		}
		imports = append(imports, strings.TrimSpace(name+" "+strconv.Quote(path)))
	}
	if len(imports) > 0 {
		head += "import (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n"
	}
	return head + at + s.src, ""
}

// missingImports returns the names of knownImports that src uses as
// package qualifiers without importing them, sorted.
func missingImports(src string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "snippet.go", src, 0)
	if err != nil {
		return nil // reported by TestSnippetsParse; the build reports it again
	}
	imported := map[string]bool{}
	for _, spec := range f.Imports {
		path, _ := strconv.Unquote(spec.Path.Value)
		name := filepath.Base(path)
		for n, p := range knownImports {
			if p == path {
				name = n
			}
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		imported[name] = true
	}
	unresolved := map[*ast.Ident]bool{}
	for _, id := range f.Unresolved {
		unresolved[id] = true
	}
	need := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && unresolved[id] && !imported[id.Name] && knownImports[id.Name] != "" {
				need[id.Name] = true
			}
		}
		return true
	})
	var out []string
	for n := range need {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestSnippetsCompile writes the README's snippets into a package inside
// the module, generates the pools of its task types with poolgen, as
// go generate would, and runs go vet on it: it fails when a snippet does
// not compile, for example after a rename in poolgen's API.
func TestSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds poolgen, generates and vets a package: seconds")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// Inside the module, so that poolgen's packages resolve; under
	// testdata, so that ./... patterns leave it alone.
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "snippets")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		os.Remove("testdata") // only if empty
	})
	var decls int
	for _, s := range readme(t) {
		src, sub := s.file("app")
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, sub, fmt.Sprintf("readme%d.go", s.line))
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if s.kind == "decls" {
			decls++
		}
	}
	if decls == 0 {
		t.Fatal("README.md has no decls snippet")
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("run", "github.com/poolgen/poolgen/cmd/poolgen")
	if _, err := os.Stat(filepath.Join(dir, "poolgen_pools.go")); err != nil {
		t.Fatalf("poolgen wrote no poolgen_pools.go for the README's task types: %v", err)
	}
	run("vet", "./...")
}

// goCommandRE matches a go command that takes packages, and the cd that
// may precede it.
var goCommandRE = regexp.MustCompile(`(?:\bcd (\S+) && )?\bgo (?:build|generate|run|test|vet)\b([^` + "`" + `&|;)\n]*)`)

// TestCommands: every go command of the README that names packages by
// directory (./examples/pooldemo, ./...) names directories of the module
// it runs in (the root's, or the one it changes into) or of a module the
// go.work there uses.
func TestCommands(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range goCommandRE.FindAllStringSubmatch(string(md), -1) {
		moduleDir := filepath.Join(root, m[1])
		if _, err := os.Stat(filepath.Join(moduleDir, "go.mod")); err != nil {
			t.Errorf("README.md runs %q in %s, which is not a module's root", strings.TrimSpace(m[0]), fromRoot(moduleDir))
			continue
		}
		workspace := workspaceModules(t, moduleDir)
		for _, arg := range strings.Fields(m[2]) {
			if !strings.HasPrefix(arg, "./") {
				continue
			}
			n++
			rel := strings.TrimSuffix(strings.TrimSuffix(arg, "..."), "/")
			pkgDir := filepath.Join(moduleDir, rel)
			if fi, err := os.Stat(pkgDir); err != nil || !fi.IsDir() {
				t.Errorf("README.md runs %q: there is no directory %s", strings.TrimSpace(m[0]), pkgDir)
				continue
			}
			if got := moduleOf(pkgDir); got != filepath.Clean(moduleDir) && !slices.Contains(workspace, got) {
				t.Errorf("README.md runs %q in %s, but %s belongs to the module in %s: run it there (cd %s && go ...)",
					strings.TrimSpace(m[0]), fromRoot(moduleDir), arg, fromRoot(got), fromRoot(got))
			}
		}
	}
	if n == 0 {
		t.Error("found no go command with a package directory in README.md: is goCommandRE out of date?")
	}
}

// workspaceModules returns the directories of the modules that the
// go.work in dir uses, or none if dir has no go.work.
func workspaceModules(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "go.work")); err != nil {
		return nil
	}
	cmd := exec.Command("go", "work", "edit", "-json")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go work edit -json in %s: %v", fromRoot(dir), err)
	}
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &work); err != nil {
		t.Fatalf("go work edit -json in %s: %v", fromRoot(dir), err)
	}
	var dirs []string
	for _, u := range work.Use {
		dirs = append(dirs, filepath.Join(dir, u.DiskPath))
	}
	return dirs
}

// moduleOf returns the directory of the go.mod that dir belongs to.
func moduleOf(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// fromRoot names dir as the README's reader sees it: relative to the root
// of the repository.
func fromRoot(dir string) string {
	rel, err := filepath.Rel(root, dir)
	switch {
	case err != nil:
		return dir
	case rel == ".":
		return "the repository's root"
	}
	return rel + "/"
}
