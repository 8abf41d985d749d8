// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Links the crate against the shared library libtld.so.1, found with the
// pkg-config program (no crate is needed for that).
//
// Environment:
//   PKG_CONFIG           the pkg-config program (default: pkg-config)
//   PKG_CONFIG_PATH      where pkg-config looks for tld.pc, as usual
//   TLD_PKG_CONFIG_PATH  directories searched before PKG_CONFIG_PATH; point
//                        it at a libtld build directory to build against
//                        that build tree (its tld-uninstalled.pc)
use std::env;
use std::ffi::OsString;
use std::process::Command;

// The oldest libtld that has every function this crate calls (ABI TLD_1.2).
const MIN_VERSION: &str = "0.3.0";

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let program = env::var_os("PKG_CONFIG").unwrap_or_else(|| OsString::from("pkg-config"));
    let mut cmd = Command::new(&program);
    if let Some(first) = env::var_os("TLD_PKG_CONFIG_PATH") {
        let mut path = first;
        if let Some(rest) = env::var_os("PKG_CONFIG_PATH") {
            if !rest.is_empty() {
                path.push(":");
                path.push(rest);
            }
        }
        cmd.env("PKG_CONFIG_PATH", path);
    }
    cmd.args(args);
    let out = cmd.output().map_err(|e| {
        format!("cannot run {}: {e} (install pkg-config, or set PKG_CONFIG)", program.to_string_lossy())
    })?;
    if !out.status.success() {
        return Err(format!(
            "`{} {}` failed: {}",
            program.to_string_lossy(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "pkg-config printed something that is not UTF-8".into())
}

fn main() {
    for var in ["PKG_CONFIG", "PKG_CONFIG_PATH", "TLD_PKG_CONFIG_PATH", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let found = pkg_config(&["--modversion", "tld"])
        .and_then(|version| {
            pkg_config(&[&format!("--atleast-version={MIN_VERSION}"), "tld"])
                .map_err(|_| format!("it found libtld {}", version.trim()))
        })
        .and_then(|_| pkg_config(&["--libs-only-L", "tld"]));
    let libs = match found {
        Ok(libs) => libs,
        Err(e) => {
            eprintln!(
                "libtld {MIN_VERSION} or later was not found with pkg-config: {e}\n\
                 Install libtld (Debian: libtld-dev), or set TLD_PKG_CONFIG_PATH to a libtld \
                 build directory (it holds tld-uninstalled.pc)."
            );
            std::process::exit(1);
        }
    };
    for flag in libs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
    println!("cargo:rustc-link-lib=dylib=tld");
}
