module github.com/poolgen/poolgen/bench

go 1.26.0

replace github.com/poolgen/poolgen => ../

require (
	github.com/panjf2000/ants/v2 v2.12.1
	github.com/poolgen/poolgen v0.0.0-00010101000000-000000000000
)

require (
	github.com/dave/jennifer v1.7.1 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

tool github.com/poolgen/poolgen/cmd/poolgen
