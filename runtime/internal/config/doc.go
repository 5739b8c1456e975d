// Package config is a pool's configuration: the options users give
// (built by package poolrt, which re-exports the types they name), their
// defaults and limits, and the resolved Settings the pools in package
// poolimpl read. It sits below poolrt so that the options can be
// user-facing while the Settings they fill are not.
package config
