//! Names the shared library `libmicro.so` inside (its soname), so programs linked against the
//! installed `libmicro.so` load it by that name.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmicro.so");
    }
}
