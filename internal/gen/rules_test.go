package gen

import (
	"path/filepath"
	"testing"
)

// fixtures holds the fixture templates (testdata/rules/templates), the
// packages generated from them (testdata/rules/golden) and templates that
// break one rule each (testdata/rules/broken).
const fixtures = "testdata/rules"

// fixtureTemplates is the import path of the fixture templates.
const fixtureTemplates = "github.com/poolgen/poolgen/internal/gen/" + fixtures + "/templates"

// TestRuleGolden generates each package in testdata/rules/golden from the
// fixture templates and compares the result with its pools.golden. Each
// golden is small enough to read, and shows the rewrite rules that its
// package's doc comment names. Run with -update after a change, and read
// the diff.
func TestRuleGolden(t *testing.T) {
	eachGolden(t, filepath.Join(fixtures, "golden"), func(t *testing.T, dir string) {
		checkGolden(t, Config{Dir: dir, Templates: fixtureTemplates}, filepath.Join(dir, "pools.golden"))
	})
}

// TestTemplateRules runs the generator over templates that break one rule
// for template code each (testdata/rules/broken/<rule>, beside a task type
// to generate for): every break must be an error at the template's
// file:line:col that names the rule, and no file may be written. Every
// rule in rules.go has a case.
func TestTemplateRules(t *testing.T) {
	const at = `testdata/rules/broken/`
	cases := []struct {
		rule  rule
		dir   string   // the task type's package; its templates are in dir/templates unless templates is set
		pools []string // overrides the directive
		tmpl  string
		want  []string
	}{
		{rule: rulePools, dir: "broken/pools", want: []string{
			at + `pools/templates/fixed\.go:4:6: FixedPool has no type parameter for the task type and no type parameter for the key, but a template has one task type parameter .*\(template rule "pools", internal/gen/rules\.go\)`}},
		{rule: rulePools, dir: "golden/value", pools: []string{"dynamic"}, tmpl: fixtureTemplates, want: []string{
			`testdata/rules/golden/value/task\.go:17:6: the templates have no DynamicPool for pattern "dynamic" \(poolgen and its templates are out of step\)`}},
		{rule: ruleFiles, dir: "broken/files", want: []string{
			at + `files/templates/fixed\.go:8:6: DynamicPool is declared in the file of FixedPool, which a run emits whole for FixedPool's pools; give each pool type a file of its own \(template rule "files"`}},
		{rule: ruleTypeParams, dir: "broken/typeparams", want: []string{
			at + `typeparams/templates/fixed\.go:7:11: pair has the type parameters T and U for the task type and no type parameter for the key, but a template has one task type parameter and at most one key type parameter \(one that a method of the task type parameter's constraint returns\) \(template rule "typeparams"`,
			at + `typeparams/templates/fixed\.go:10:24: keyOf has the key type parameter K, returned by BatchKey, but no pool of Job asks for BatchKey \(template rule "typeparams"`,
			at + `typeparams/templates/fixed\.go:13:11: twin has the type parameters T and U for the task type and no type parameter for the key`,
			at + `typeparams/templates/fixed\.go:16:14: twoKeys has the type parameter T for the task type and the type parameters K and L for the key`}},
		{rule: ruleInstances, dir: "broken/instances", want: []string{
			at + `instances/templates/fixed\.go:16:6: runOne is instantiated with probe; templates instantiate their generic declarations with their own type parameters only \(template rule "instances"`}},
		{rule: ruleMethods, dir: "broken/methods", want: []string{
			at + `methods/templates/fixed\.go:9:30: Priority is used other than by a call on a task, but a task type may meet Priority with a tagged field, which generated code reads only where a template calls Priority \(template rule "methods"`,
			at + `methods/templates/fixed\.go:10:8: Priority is used other than by a call on a task`}},
		{rule: ruleHandler, dir: "broken/handler", want: []string{
			at + `handler/templates/batch\.go:8:11: the handler type BatchHandler is used other than as the type of a named field or parameter, but generated code has no handler type \(template rule "handler"`,
			at + `handler/templates/batch\.go:15:9: the batch handler handle is used other than by calling it, but generated code calls the user's function in its place \(template rule "handler"`,
			at + `handler/templates/batch\.go:16:7: the batch handler handle is used other than by calling it`,
			at + `handler/templates/batch\.go:17:27: the batch handler h is used other than by calling it`,
			at + `handler/templates/batch\.go:19:6: the handler type BatchHandler is used other than as the type of a named field or parameter`,
			at + `handler/templates/batch\.go:20:16: the batch handler handle is used other than by calling it`}},
		{rule: ruleNames, dir: "broken/names", want: []string{
			at + `names/templates/fixed\.go:11:6: queue and PoolgenQueue both become poolgenPoolgenQueue for task type poolgen; rename one \(template rule "names"`}},
		{rule: ruleDocs, dir: "broken/docs", want: []string{
			at + `docs/templates/fixed\.go:7:6: the doc comment of runAll does not start with "runAll ", so it cannot follow the rename \(template rule "docs"`,
			at + `docs/templates/fixed\.go:9:6: the doc comment of done does not start with "done "`}},
	}
	tested := map[rule]bool{}
	for _, c := range cases {
		tested[c.rule] = true
		t.Run(string(c.rule)+"/"+c.dir, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(fixtures, c.dir)
			tmpl := c.tmpl
			if tmpl == "" {
				tmpl = "github.com/poolgen/poolgen/internal/gen/" + filepath.ToSlash(dir) + "/templates"
			}
			checkBad(t, Config{Dir: dir, Pools: c.pools, Templates: tmpl}, c.want)
		})
	}
	for _, r := range rules {
		if !tested[r] {
			t.Errorf("rule %q has no case that breaks it", r)
		}
	}
}
