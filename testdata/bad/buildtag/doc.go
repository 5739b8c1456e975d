// Package buildtag declares its task type in a file that needs a build tag.
package buildtag
