// Package testfile declares its task type in a test file.
package testfile
