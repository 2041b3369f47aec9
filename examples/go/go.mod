module github.com/libmicro/libmicro/examples/go

go 1.22

require github.com/libmicro/libmicro/bindings/go v0.0.0

replace github.com/libmicro/libmicro/bindings/go => ../../bindings/go
