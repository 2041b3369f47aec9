//! libmicro's C ABI: `libmicro.so` / `libmicro.a` and `include/micro.h` (generated from this
//! crate by cbindgen). Each module is one area of the API; each entry point checks its
//! pointers and UTF-8, catches panics and returns a status with an optional error object.
#![allow(non_camel_case_types)]

pub mod ai;
mod args;
pub mod broker;
pub mod buf;
mod callback;
pub mod client;
pub mod error;
pub mod gateway;
pub mod registry;
pub mod reply;
pub mod runtime;
pub mod service;
pub mod store;
pub mod stream;
