module github.com/poolgen/poolgen

go 1.26
