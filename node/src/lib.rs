//! The Node.js binding of libmicro: the native half of the npm package `go-micro`.
