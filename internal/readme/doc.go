// Package readme checks README.md: its tests compile every Go snippet of
// the README, with the code poolgen generates for the snippets' task
// types, and check that its go commands name packages of the module they
// run in. It has no code of its own.
//
// Every ```go block of the README is preceded by a comment that names how
// the test compiles it:
//
//   - <!-- snippet: decls --> : declarations of the user's package (task
//     types, batch handlers, functions using the pools), without the
//     package clause and with or without imports. All such blocks go into
//     one package, each in a file of its own, with the imports they leave
//     out of the standard library and of poolgen's packages (context, fmt,
//     poolrt, templates, ...) added; poolgen then generates the pools of
//     every task type marked with //poolgen:pools, and go vet checks the
//     package.
//   - <!-- snippet: lane --> : statements of a lane, the loop that calls
//     Run: they must appear as they are in templates/task.go, and compile
//     in a generic function over a poolimpl.Worker[T] with ctx in scope.
//   - <!-- snippet: file --> : a complete file with its package clause,
//     compiled as it is, as a package of its own.
package readme
