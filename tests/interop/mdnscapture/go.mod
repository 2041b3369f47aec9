module libmicro/tests/interop/mdnscapture

go 1.24

require (
	github.com/miekg/dns v1.1.50
	go-micro.dev/v5 v5.30.0
)

require (
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/mod v0.24.0 // indirect
	golang.org/x/net v0.38.0 // indirect
	golang.org/x/sync v0.13.0 // indirect
	golang.org/x/sys v0.32.0 // indirect
	golang.org/x/tools v0.31.0 // indirect
)
