//! Names the shared library `libmicro.so.<major>` inside (its soname), so programs linked
//! against the installed `libmicro.so` load the major version they were built with, and a
//! later incompatible `libmicro.so.1` can sit beside it. `make install` puts the file in place
//! as `libmicro.so.<version>` with the soname and the link name as symlinks.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmicro.so.{major}");
    }
}
