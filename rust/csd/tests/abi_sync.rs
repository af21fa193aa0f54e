//! bpf/fluffle_csd.h and rust/csd/abi.rs describe the same ABI.
//!
//! Two independent checks: (1) the header is parsed as text (`#define`s,
//! struct field lists, `_IOWR(...)` ioctl definitions, helper prototypes)
//! and compared with the Rust constants and `offset_of!` layouts; (2) a C
//! probe including the header is compiled for the host with clang-19 and
//! prints what the C compiler thinks, which must match too.

use csd::abi::*;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of_val};
use std::path::PathBuf;
use std::process::Command;

fn header_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bpf/fluffle_csd.h")
}

fn header() -> String {
    std::fs::read_to_string(header_path()).unwrap()
}

/// Strips `/* */` and `//` comments.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        let j = rest[i..].find("*/").expect("unterminated comment");
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

/// `#define NAME VALUE` lines (function-like macros and guards excluded).
fn defines(h: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in strip_comments(h).lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("#define ") else { continue };
        let (name, value) = match rest.split_once(char::is_whitespace) {
            Some((n, v)) => (n.trim(), v.trim()),
            None => continue,
        };
        if name.contains('(') {
            continue;
        }
        m.insert(name.to_string(), value.to_string());
    }
    m
}

fn parse_int(v: &str) -> u64 {
    let v = v.trim().trim_end_matches("ULL").trim_end_matches("UL").trim_end_matches('U');
    if let Some(h) = v.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap()
    } else {
        v.parse().unwrap_or_else(|_| panic!("not an integer: {v}"))
    }
}

fn type_size(t: &str) -> usize {
    match t {
        "fluffle_u64" | "fluffle_s64" => 8,
        "fluffle_u32" | "fluffle_s32" => 4,
        "fluffle_u8" => 1,
        other => panic!("unknown field type {other}"),
    }
}

/// `struct NAME { type field; ... };` as (field, offset, size) in C layout,
/// plus the struct size.
fn c_struct(h: &str, name: &str) -> (Vec<(String, usize, usize)>, usize) {
    let h = strip_comments(h);
    let start = h.find(&format!("struct {name} {{")).unwrap_or_else(|| panic!("struct {name} not in header"));
    let body = &h[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap()];
    let mut fields = Vec::new();
    let (mut off, mut align) = (0usize, 1usize);
    for decl in body.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let mut parts = decl.split_whitespace();
        let (ty, field) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(parts.next().is_none(), "unexpected declaration {decl}");
        let sz = type_size(ty);
        off = off.div_ceil(sz) * sz;
        fields.push((field.to_string(), off, sz));
        off += sz;
        align = align.max(sz);
    }
    (fields, off.div_ceil(align) * align)
}

/// (name, offset, size) of every field of a Rust struct, in order.
macro_rules! rust_fields {
    ($t:ty; $($f:ident),* $(,)?) => {{
        let v: $t = Default::default();
        vec![$((stringify!($f).to_string(), offset_of!($t, $f), size_of_val(&v.$f))),*]
    }};
}

fn ctx_fields() -> Vec<(String, usize, usize)> {
    rust_fields!(CsdCtx; abi_version, op, req_offset, req_len, ino, parent, file_type, mode, size, lba_count,
        block_size, sector_size, zone_size, zone_cap, zone_count, scratch_size, input_len, out_cap)
}
fn load_fields() -> Vec<(String, usize, usize)> {
    rust_fields!(LoadArgs; prog_ptr, prog_len, flags, entry, id_out)
}
fn run_fields() -> Vec<(String, usize, usize)> {
    rust_fields!(RunArgs; id, flags, offset, len, out_ptr, out_len, result_len)
}

/// Every `#define` the Rust side has a value for.
fn expected_defines() -> Vec<(&'static str, u64)> {
    vec![
        ("FLUFFLE_CSD_ABI_VERSION", ABI_VERSION as u64),
        ("FLUFFLE_HELPER_READ", HELPER_READ as u64),
        ("FLUFFLE_HELPER_SIZE", HELPER_SIZE as u64),
        ("FLUFFLE_HELPER_EMIT", HELPER_EMIT as u64),
        ("FLUFFLE_HELPER_SCRATCH", HELPER_SCRATCH as u64),
        ("FLUFFLE_HELPER_LBA_COUNT", HELPER_LBA_COUNT as u64),
        ("FLUFFLE_HELPER_LBAS", HELPER_LBAS as u64),
        ("FLUFFLE_HELPER_READ_LBA", HELPER_READ_LBA as u64),
        ("FLUFFLE_HELPER_INPUT", HELPER_INPUT as u64),
        ("FLUFFLE_CSD_BLOCK_SIZE", BLOCK_SIZE as u64),
        ("FLUFFLE_CSD_LBA_HOLE", LBA_HOLE),
        ("FLUFFLE_CSD_SCRATCH_SIZE", SCRATCH_SIZE as u64),
        ("FLUFFLE_CSD_WRITE_SLACK", WRITE_SLACK as u64),
        ("FLUFFLE_CSD_MAX_PROG_BYTES", MAX_PROG_BYTES as u64),
        ("FLUFFLE_CSD_MAX_PROGRAMS", MAX_PROGRAMS as u64),
        ("FLUFFLE_CSD_MAX_PROGRAMS_PER_USER", MAX_PROGRAMS_PER_USER as u64),
        ("FLUFFLE_CSD_MAX_ATTACHMENTS", MAX_ATTACHMENTS as u64),
        ("FLUFFLE_CSD_OP_READ", OP_READ as u64),
        ("FLUFFLE_CSD_OP_WRITE", OP_WRITE as u64),
        ("FLUFFLE_CSD_FT_REGULAR", FT_REGULAR as u64),
        ("FLUFFLE_CSD_FT_DIRECTORY", FT_DIRECTORY as u64),
        ("FLUFFLE_CSD_FT_SYMLINK", FT_SYMLINK as u64),
        ("FLUFFLE_CSD_EACCES", CSD_EACCES as u64),
        ("FLUFFLE_CSD_EINVAL", CSD_EINVAL as u64),
    ]
}

#[test]
fn header_constants_match() {
    let d = defines(&header());
    for (name, value) in expected_defines() {
        let v = d.get(name).unwrap_or_else(|| panic!("{name} missing from the header"));
        assert_eq!(parse_int(v), value, "{name}");
    }
    assert_eq!(d["FLUFFLE_XATTR_READ_STREAM"], format!("\"{XATTR_READ_STREAM}\""));
    assert_eq!(d["FLUFFLE_XATTR_WRITE_STREAM"], format!("\"{XATTR_WRITE_STREAM}\""));
    // Every helper id in the header is one the verifier accepts, and back.
    let mut header_ids: Vec<u32> =
        d.iter().filter(|(k, _)| k.starts_with("FLUFFLE_HELPER_")).map(|(_, v)| parse_int(v) as u32).collect();
    header_ids.sort();
    let mut rust_ids = HELPER_IDS.to_vec();
    rust_ids.sort();
    assert_eq!(header_ids, rust_ids);
}

#[test]
fn every_helper_id_has_a_prototype() {
    let h = strip_comments(&header());
    let d = defines(&header());
    for name in d.keys().filter(|k| k.starts_with("FLUFFLE_HELPER_")) {
        let proto = format!("= (void *){name};");
        assert_eq!(h.matches(&proto).count(), 1, "no single prototype bound to {name}");
    }
}

#[test]
fn header_structs_match_rust_layouts() {
    let h = header();
    for (c, rust, size) in [
        ("fluffle_csd_ctx", ctx_fields(), CTX_SIZE),
        ("fluffle_csd_load", load_fields(), LOAD_ARGS_SIZE),
        ("fluffle_csd_run", run_fields(), RUN_ARGS_SIZE),
    ] {
        let (fields, c_size) = c_struct(&h, c);
        assert_eq!(fields, rust, "struct {c}");
        assert_eq!(c_size, size, "sizeof(struct {c})");
    }
    assert_eq!(std::mem::size_of::<CsdCtx>(), CTX_SIZE);
}

/// Linux `_IOC` from a `_IOWR('F', 1, struct x)` style text.
fn eval_ioc(v: &str, h: &str) -> u32 {
    let (mac, args) = v.split_once('(').unwrap();
    let args: Vec<&str> = args.trim_end_matches(')').split(',').map(str::trim).collect();
    let dir = match mac.trim() {
        "_IOW" => 1,
        "_IOR" => 2,
        "_IOWR" => 3,
        other => panic!("unknown ioctl macro {other}"),
    };
    let ty = args[0].trim_matches('\'').as_bytes()[0];
    let nr: u8 = args[1].parse().unwrap();
    let size = match args[2].strip_prefix("struct ") {
        Some(s) => c_struct(h, s).1,
        None => type_size(args[2]),
    };
    ioc(dir, ty, nr, size)
}

#[test]
fn header_ioctls_match() {
    let h = header();
    let d = defines(&h);
    for (name, value) in [
        ("FLUFFLE_IOC_CSD_LOAD", IOC_CSD_LOAD),
        ("FLUFFLE_IOC_CSD_UNLOAD", IOC_CSD_UNLOAD),
        ("FLUFFLE_IOC_CSD_RUN", IOC_CSD_RUN),
    ] {
        assert_eq!(eval_ioc(&d[name], &h), value, "{name}");
    }
}

#[test]
fn c_compiler_agrees() {
    let mut probe = String::from("#include \"fluffle_csd.h\"\n#include <stdio.h>\n#include <stddef.h>\nint main(void) {\n");
    for (name, _) in expected_defines() {
        probe.push_str(&format!("printf(\"{name} %llu\\n\", (unsigned long long)({name}));\n"));
    }
    for name in ["FLUFFLE_IOC_CSD_LOAD", "FLUFFLE_IOC_CSD_UNLOAD", "FLUFFLE_IOC_CSD_RUN"] {
        probe.push_str(&format!("printf(\"{name} %llu\\n\", (unsigned long long)({name}));\n"));
    }
    for (c, fields) in [("fluffle_csd_ctx", ctx_fields()), ("fluffle_csd_load", load_fields()), ("fluffle_csd_run", run_fields())] {
        probe.push_str(&format!("printf(\"sizeof.{c} %zu\\n\", sizeof(struct {c}));\n"));
        for (f, _, _) in &fields {
            probe.push_str(&format!(
                "printf(\"{c}.{f} %zu %zu\\n\", offsetof(struct {c}, {f}), sizeof(((struct {c} *)0)->{f}));\n"
            ));
        }
    }
    probe.push_str("return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("fluffle-csd-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.c"), probe).unwrap();
    let out = Command::new("clang-19")
        .args(["-Wall", "-Werror", "-I"])
        .arg(header_path().parent().unwrap())
        .arg(dir.join("probe.c"))
        .arg("-o")
        .arg(dir.join("probe"))
        .output()
        .expect("clang-19 is required");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(dir.join("probe")).output().unwrap();
    let text = String::from_utf8(run.stdout).unwrap();
    let got: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once(' ')).collect();
    for (name, value) in expected_defines() {
        assert_eq!(got[name], value.to_string(), "{name}");
    }
    assert_eq!(got["FLUFFLE_IOC_CSD_LOAD"], IOC_CSD_LOAD.to_string());
    assert_eq!(got["FLUFFLE_IOC_CSD_UNLOAD"], IOC_CSD_UNLOAD.to_string());
    assert_eq!(got["FLUFFLE_IOC_CSD_RUN"], IOC_CSD_RUN.to_string());
    for (c, fields, size) in [
        ("fluffle_csd_ctx", ctx_fields(), CTX_SIZE),
        ("fluffle_csd_load", load_fields(), LOAD_ARGS_SIZE),
        ("fluffle_csd_run", run_fields(), RUN_ARGS_SIZE),
    ] {
        assert_eq!(got[format!("sizeof.{c}").as_str()], size.to_string());
        for (f, off, sz) in fields {
            assert_eq!(got[format!("{c}.{f}").as_str()], format!("{off} {sz}"), "{c}.{f}");
        }
    }
}

#[test]
fn header_compiles_for_bpf_with_every_helper() {
    // A kernel calling every helper compiles warning-free for the BPF target.
    let src = r#"#include "fluffle_csd.h"
CSD_KERNEL int all(const struct fluffle_csd_ctx *ctx)
{
	fluffle_u64 l[2];
	char *s = csd_scratch();
	long r = csd_read(0, s, 1) + (long)csd_size() + (long)csd_lba_count();
	r += csd_lbas(0, l, 2) + csd_read_lba(l[0], s) + (csd_input() != 0);
	return csd_emit(&r, sizeof(r)) + (int)ctx->abi_version;
}
"#;
    let dir = std::env::temp_dir().join(format!("fluffle-csd-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("all.c"), src).unwrap();
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-O2", "-Wall", "-Werror", "-c", "-I"])
        .arg(header_path().parent().unwrap())
        .arg(dir.join("all.c"))
        .arg("-o")
        .arg(dir.join("all.o"))
        .output()
        .expect("clang-19 is required");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
