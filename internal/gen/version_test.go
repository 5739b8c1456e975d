package gen

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionGuard builds the committed generated pools against a copy of
// the module whose runtime no longer serves their version of generated
// code, both ways, and checks that the build fails at the guard with a
// message that says what to do.
func TestVersionGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the module and builds it")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, min, current, want string
	}{
		{"file too old", "MinVersion = 1", "MinVersion = 4", "poolimpl.StaleFileRunGoGenerate"},
		{"runtime too old", "CurrentVersion = 3", "CurrentVersion = 2", "poolimpl.StaleRuntimeUpdatePoolgen"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyModule(t, root, dir)
			version := filepath.Join(dir, "runtime", "poolimpl", "version.go")
			src, err := os.ReadFile(version)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), c.min) {
				t.Fatalf("version.go has no %q", c.min)
			}
			edited := strings.Replace(string(src), c.min, c.current, 1)
			if err := os.WriteFile(version, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "build", "./generated/")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the generated pools built against a runtime that does not serve their version")
			}
			if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "_pool.go") {
				t.Errorf("the build failed, but not at the guard naming %s:\n%s", c.want, out)
			}
		})
	}
}

// copyModule copies the module at root (go.mod, go.sum and the packages
// the generated pools need) to dir.
func copyModule(t *testing.T, root, dir string) {
	t.Helper()
	for _, f := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(dir, f))
	}
	for _, sub := range []string{"runtime", "generated", "internal/probe", "internal/testhook", "templates"} {
		err := filepath.WalkDir(filepath.Join(root, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			if strings.HasSuffix(path, ".go") {
				copyFile(t, path, filepath.Join(dir, rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
