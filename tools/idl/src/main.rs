//! `cargo run -p keel-idl`: build each program's IDL with anchor-lang-idl's `IdlBuilder` (what
//! `anchor idl build` runs: the program's `__anchor_private_print_idl` test under the
//! `idl-build` feature) and write it to `idl/<program>.json`.
//!
//! The builder compiles the program's dependencies again under its own flags, so it gets a
//! target directory of its own (`KEEL_IDL_TARGET_DIR`, default `~/.cache/keel/idl-target`).

use std::path::PathBuf;

use anchor_lang_idl::build::IdlBuilder;
use anyhow::{Context, Result};

const PROGRAMS: &[(&str, &str)] = &[
    ("programs/perp-amm", "perp_amm"),
    ("programs/collateral-pool", "collateral_pool"),
];

fn main() -> Result<()> {
    // With RUSTUP_TOOLCHAIN set (as it is under `cargo run`), the builder tries to install that
    // toolchain and passes a malformed `+toolchain` argument: the pinned rust-toolchain.toml
    // already selects the compiler, so drop the variable.
    // SAFETY: single-threaded, before any other thread exists.
    unsafe { std::env::remove_var("RUSTUP_TOOLCHAIN") };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let target = std::env::var("KEEL_IDL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
                .join(".cache/keel/idl-target")
        });
    std::fs::create_dir_all(root.join("idl"))?;
    for (path, name) in PROGRAMS {
        eprintln!("building the IDL of {path} (first run: several minutes)");
        let idl = IdlBuilder::new()
            .program_path(root.join(path))
            .cargo_args(vec!["--target-dir".into(), target.display().to_string()])
            .build()
            .with_context(|| {
                format!(
                    "IDL build of {path} failed; run with ANCHOR_LOG=true for the compiler output"
                )
            })?;
        let out = root.join("idl").join(format!("{name}.json"));
        std::fs::write(&out, serde_json::to_string_pretty(&idl)? + "\n")?;
        eprintln!(
            "wrote {} ({} instructions)",
            out.display(),
            idl.instructions.len()
        );
    }
    Ok(())
}
