module github.com/poolgen/poolgen/examples/pooldemo

go 1.26.0

replace github.com/poolgen/poolgen => ../..

require github.com/poolgen/poolgen v0.0.0-00010101000000-000000000000
