// Package bench compares poolgen's pools with each other and with their
// peers. It is a module of its own (see go.mod) so that the peers it
// measures never become dependencies of poolgen itself. The benchmarks and
// their harness are in this package's _test.go files, the task types in
// package tasks; README.md says how to run them and how to add a
// contestant, RESULTS.md what they measured.
package bench
