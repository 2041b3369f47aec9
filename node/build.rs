//! Sets up linking for the napi addon, which Node loads and resolves symbols against.

fn main() {
    napi_build::setup();
}
