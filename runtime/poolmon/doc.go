// Package poolmon shows poolgen's pools to the people who run them: the
// pools that have a name (poolrt.Name), their statistics now and over the
// last minutes.
package poolmon
