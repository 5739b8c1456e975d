package gen

// This file is the sixth step, verify. It consumes the assembled file and
// produces it again, checked: the user's package type-checks with the file
// in place, so that poolgen never writes code that does not compile. It is
// a step of its own because it checks the result of all the others as the
// compiler will see it, rather than trusting them.

import (
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// verify type-checks the package with the generated file in place, so
// that poolgen never writes code that does not compile.
func verify(a *assembled) (*Output, error) {
	cfg := &packages.Config{
		Mode:       packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedFiles | packages.NeedCompiledGoFiles,
		Dir:        a.cfg.Dir,
		Overlay:    map[string][]byte{a.out.Path: a.out.Source},
		BuildFlags: buildFlags(a.cfg.Tags),
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, errorf("checking the generated code: %v", err)
	}
	abs, _ := filepath.Abs(a.out.Path)
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			pos := errPos(e)
			if a, _ := filepath.Abs(pos.Filename); a == abs {
				errs = append(errs, e.Error())
			}
		}
	}
	if len(errs) > 0 {
		return nil, errorf("the generated code does not compile (please report this poolgen bug):\n\t%s", strings.Join(errs, "\n\t"))
	}
	return a.out, nil
}
