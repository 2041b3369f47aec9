module github.com/libmicro/libmicro/bindings/go

go 1.22
