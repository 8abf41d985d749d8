// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// What the crate refuses when a program is built: each case is a small
// program built with cargo against this crate, which must fail with the
// error the case names. Programs that must build are built the same way
// first, so that a failure for an unrelated reason cannot pass.
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const ACCEPTED: &str = r#"
#[repr(C)]
#[derive(Clone, Copy)]
struct Hint { id: u32, class: u16, flags: u16, weight: f64 }
unsafe impl tld::Pod for Hint {}
static S: tld::StaticKey<[u8; tld::MAX_SIZE]> = tld::StaticKey::new("accepted.largest");
fn main() {
    let _a: std::io::Result<tld::Key<Hint>> = tld::Key::create("accepted.hint");
    let _b: std::io::Result<tld::Key<[u8; tld::MAX_SIZE]>> = tld::Key::find("accepted.largest");
    let _c: std::io::Result<tld::Key<[i64; 3]>> = tld::Key::create("accepted.array");
    let _d: std::io::Result<tld::Key<f64>> = tld::Key::create("accepted.float");
    let _e = S.name();
}
"#;

// (what is refused, the program's body in main(), a message it must fail with)
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "bool",
        r#"let _k: std::io::Result<tld::Key<bool>> = tld::Key::create("r.bool");"#,
        "the trait bound `bool: Pod` is not satisfied",
    ),
    (
        "char",
        r#"let _k: std::io::Result<tld::Key<char>> = tld::Key::create("r.char");"#,
        "the trait bound `char: Pod` is not satisfied",
    ),
    (
        "a reference",
        r#"let _k: std::io::Result<tld::Key<&'static u32>> = tld::Key::create("r.ref");"#,
        "the trait bound `&'static u32: Pod` is not satisfied",
    ),
    (
        "a type one byte larger than MAX_SIZE",
        r#"let _k: std::io::Result<tld::Key<[u8; tld::MAX_SIZE + 1]>> = tld::Key::create("r.big");"#,
        "a TLD must fit in one page with its header",
    ),
    (
        "a static key of a type larger than MAX_SIZE",
        r#"static S: tld::StaticKey<[u64; 512]> = tld::StaticKey::new("r.static"); let _n = S.name();"#,
        "a TLD must fit in one page with its header",
    ),
    (
        "a type found by name that is larger than MAX_SIZE",
        r#"let _k: std::io::Result<tld::Key<[u8; 5000]>> = tld::Key::find("r.find");"#,
        "a TLD must fit in one page with its header",
    ),
    (
        "a zero-sized type",
        r#"let _k: std::io::Result<tld::Key<[u32; 0]>> = tld::Key::create("r.zero");"#,
        "a TLD cannot be zero-sized",
    ),
    (
        "a type aligned to 16 bytes",
        r#"#[repr(C, align(16))] #[derive(Clone, Copy)] struct A(u64);
           unsafe impl tld::Pod for A {}
           let _k: std::io::Result<tld::Key<A>> = tld::Key::create("r.align");"#,
        "TLDs are 8-byte aligned",
    ),
    (
        "a scope guard moved to another thread",
        r#"let k: tld::Key<u32> = tld::Key::create("r.guard").unwrap();
           let g = k.scoped(1).unwrap();
           std::thread::spawn(move || drop(g));"#,
        "cannot be sent between threads safely",
    ),
];

fn build(dir: &PathBuf, program: &str) -> (bool, String) {
    fs::write(dir.join("src/main.rs"), program).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--color", "never"])
        .current_dir(dir)
        // The cases' own warnings are no concern here.
        .env_remove("RUSTFLAGS")
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("running cargo");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn types_that_cannot_be_tlds_and_guards_sent_to_other_threads_fail_the_build() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compile-errors");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"tld-compile-case\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             [dependencies]\ntld = {{ path = {:?} }}\n[workspace]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();

    let (ok, err) = build(&dir, ACCEPTED);
    assert!(ok, "the accepted program must build:\n{err}");

    let mut wrong = Vec::new();
    for (what, body, message) in REFUSED {
        let (ok, err) = build(&dir, &format!("fn main() {{ {body} }}\n"));
        if ok {
            wrong.push(format!("{what}: built, should have failed"));
        } else if !err.contains(message) {
            wrong.push(format!("{what}: failed without \"{message}\":\n{err}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
