//! zchat's build of zmq-sys: the vendored libzmq (zeromq-src) *with* CURVE, linked against
//! the libsodium that `libsodium-sys-stable` builds from its bundled source.
//!
//! Upstream zmq-sys 0.12.0 passes `with_libsodium(None)`, which leaves libzmq without
//! CURVE ("not supported") whatever features are chosen. See ZCHAT-PATCH.md.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build/main.rs");
    println!("cargo:rerun-if-env-changed=PROFILE");
    // Set by cargo from libsodium-sys-stable's `cargo:include=` / `cargo:lib=` lines.
    let (Ok(include), Ok(lib)) = (env::var("DEP_SODIUM_INCLUDE"), env::var("DEP_SODIUM_LIB"))
    else {
        eprintln!(
            "zmq-sys (zchat): libsodium-sys-stable did not report DEP_SODIUM_INCLUDE / \
             DEP_SODIUM_LIB; cannot build libzmq with CURVE"
        );
        std::process::exit(1);
    };
    zeromq_src::Build::new()
        .with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)))
        .build();
}
