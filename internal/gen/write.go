package gen

// This file is the seventh step, write. It consumes the verified file and
// puts it on disk, atomically. It is a step of its own, run by Run rather
// than Generate, so that callers (and tests) can generate without writing.

import (
	"bytes"
	"os"
	"path/filepath"
)

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
