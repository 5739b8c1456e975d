package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installMarker precedes the README's install block, the commands that
// TestREADMEInstall runs in a new module.
const installMarker = "<!-- tested: cmd/poolgen/install_test.go runs the next block"

// readme returns the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fencedBlock returns the body of the first code block fenced with
// "```"+lang that starts at or after offset from in md, and the offset
// just past it.
func fencedBlock(md string, from int, lang string) (body string, end int, ok bool) {
	open := "\n```" + lang + "\n"
	i := strings.Index(md[from:], open)
	if i < 0 {
		return "", 0, false
	}
	start := from + i + len(open)
	j := strings.Index(md[start:], "\n```")
	if j < 0 {
		return "", 0, false
	}
	return md[start : start+j+1], start + j + len("\n```"), true
}

// commands returns the shell commands of a sh block: one per line, lines
// ending in a backslash joined to the next, blank lines and comments left
// out.
func commands(block string) []string {
	var out []string
	block = strings.ReplaceAll(block, "\\\n", " ")
	for _, line := range strings.Split(block, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// TestREADMEInstall does what the README tells a new user to do: in a new
// module next to a checkout of poolgen (../poolgen), it runs the README's
// install commands, writes the README's task type, runs go generate, and
// builds and vets the result. It fails when the README's commands or
// example no longer work.
func TestREADMEInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's install commands in a new module, with the module proxy")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the README's commands")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	md := readme(t)

	// The install block, and the task type the README shows after it.
	at := strings.Index(md, installMarker)
	if at < 0 {
		t.Fatalf("README.md has no %q before its install commands", installMarker)
	}
	install, end, ok := fencedBlock(md, at, "sh")
	if !ok {
		t.Fatal("README.md has no ```sh block after the install marker")
	}
	cmds := commands(install)
	if len(cmds) == 0 {
		t.Fatal("README.md's install block has no commands")
	}
	for _, c := range cmds {
		if strings.Contains(c, "go get") {
			t.Errorf("README.md's install block runs %q: go get cannot resolve poolgen until it is published", c)
		}
	}
	var task string
	for {
		block, next, ok := fencedBlock(md, end, "go")
		if !ok {
			t.Fatal("README.md shows no task type (a ```go block with a go:generate line) after its install commands")
		}
		if strings.Contains(block, "//go:generate ") {
			task = block
			break
		}
		end = next
	}
	invocation := regexp.MustCompile(`(?m)^//go:generate go tool (poolgen .*-type=(\w+).*)$`).FindStringSubmatch(task)
	if invocation == nil {
		t.Fatalf("README.md's task type has no 'go tool poolgen -type=Name' line:\n%s", task)
	}
	typ := invocation[2]
	directive := regexp.MustCompile(`(?m)^//poolgen:pools (\S+)$`).FindStringSubmatch(task)
	if directive == nil {
		t.Fatalf("README.md's task type has no //poolgen:pools directive:\n%s", task)
	}
	output := regexp.MustCompile("`go generate ./...`\\s+writes\\s+`([^`]+)`").FindStringSubmatch(md)
	if output == nil {
		t.Fatal("README.md no longer says which file `go generate ./...` writes")
	}
	version := regexp.MustCompile("`go tool poolgen -version`\\s+then\\s+prints\\s+`([^`]+)`").FindStringSubmatch(md)
	if version == nil {
		t.Fatal("README.md no longer says what `go tool poolgen -version` prints after the install")
	}

	// A new module, next to the checkout.
	dir := t.TempDir()
	if err := os.Symlink(repo, filepath.Join(dir, "poolgen")); err != nil {
		t.Skipf("cannot link the checkout as ../poolgen: %v", err)
	}
	app := filepath.Join(dir, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(app, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.26.0\n")
	write("task.go", "package app\n\nimport \"context\"\n\n"+strings.ReplaceAll(task, "{ ... }", "{ return nil }"))

	env := append(os.Environ(), "GOWORK=off")
	runIn := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = app
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, c := range cmds {
		runIn(sh, "-c", c)
	}
	if got := strings.TrimSpace(runIn(goBin, "tool", "poolgen", "-version")); got != version[1] {
		t.Errorf("go tool poolgen -version printed %q; README.md says %q", got, version[1])
	}
	runIn(goBin, "generate", "./...")
	gen, err := os.ReadFile(filepath.Join(app, output[1]))
	if err != nil {
		t.Fatalf("go generate did not write the %s README.md names: %v", output[1], err)
	}
	if header := `// Code generated by "` + invocation[1] + `"; DO NOT EDIT.`; !bytes.HasPrefix(gen, []byte(header)) {
		t.Errorf("%s does not start with %q", output[1], header)
	}
	// The pools the directive asks for; the priority pattern's depend on
	// what the task offers.
	for _, pattern := range strings.Split(directive[1], ",") {
		if pattern == "priority" {
			continue
		}
		ctor := "func New" + typ + strings.ToUpper(pattern[:1]) + pattern[1:] + "Pool("
		if !bytes.Contains(gen, []byte(ctor)) {
			t.Errorf("%s declares no %s...) for the directive's %s pattern", output[1], ctor, pattern)
		}
	}
	runIn(goBin, "build", "./...")
	runIn(goBin, "vet", "./...")
}

// TestREADMECommand checks that the README's summary of the command lists
// every flag.
func TestREADMECommand(t *testing.T) {
	md := readme(t)
	at := strings.Index(md, "\n### The command\n")
	if at < 0 {
		t.Fatal("README.md has no 'The command' section")
	}
	block, _, ok := fencedBlock(md, at, "")
	if !ok || !strings.HasPrefix(block, "poolgen [flags] [directory]\n") {
		t.Fatalf("README.md's 'The command' section does not start with the usage:\n%s", block)
	}
	fs, _ := newFlagSet()
	fs.VisitAll(func(f *flag.Flag) {
		if !regexp.MustCompile(`(?m)^  -` + f.Name + `\b`).MatchString(block) {
			t.Errorf("README.md's 'The command' does not list the flag -%s", f.Name)
		}
	})
	if !strings.Contains(block, "\n  -h, -help ") {
		t.Error("README.md's 'The command' does not list -h, -help")
	}
}

func TestCommands(t *testing.T) {
	got := commands("# set up\ngo mod edit \\\n  -replace=a=b\n\ngo mod tidy\n")
	want := []string{"go mod edit    -replace=a=b", "go mod tidy"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("commands = %q, want %q", got, want)
	}
}
