// Package generated holds task types annotated for poolgen and the pools
// poolgen generated for them, committed as a user would commit them.
//
// Resize (value receiver) and Thumb (pointer receiver) are the examples the
// demo runs; Probe and ProbePtr are the instrumented tasks the conformance
// suite runs through every generated pool and its generic twin. The
// *_pool.go files are poolgen's output: regenerate them with
//
//	go generate ./generated
//
// and never edit them by hand (CI fails if they differ from a fresh run).
package generated
