//! `fluffle load`, `fluffle unload`, `fluffle exec`: the CSD ioctls.
//!
//! The ioctl numbers and argument structs come from `csd::abi` (mirrored
//! by bpf/fluffle_csd.h), so the tool and the kernel agree by construction.
//! Arguments are serialized to the C layout explicitly (`to_bytes`) and
//! the ioctl gets a pointer to that byte buffer.

use csd::abi::{LoadArgs, RunArgs, IOC_CSD_LOAD, IOC_CSD_RUN, IOC_CSD_UNLOAD, LOAD_ARGS_SIZE, RUN_ARGS_SIZE};
use csd::ebpf::elf::{extract_program_mut, Selector};
use std::fs::File;
use std::os::fd::AsRawFd;

/// Options shared by the commands: where the mount is and which program
/// to take from an object file.
#[derive(Debug, Default, PartialEq)]
pub struct Opts {
    /// `--mount DIR` (default: the current directory).
    pub mount: Option<String>,
    /// `--function NAME`: the kernel's entry function.
    pub function: Option<String>,
    /// `--section NAME`: the ELF section holding it.
    pub section: Option<String>,
    /// Positional arguments.
    pub rest: Vec<String>,
    /// `--KEY VALUE` options not handled here, in order.
    pub extra: Vec<(String, String)>,
}

/// Splits `args` into known options, `--key value` extras and positionals.
pub fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(key) = a.strip_prefix("--") {
            let v = it.next().ok_or(format!("--{key} needs a value"))?.clone();
            match key {
                "mount" => o.mount = Some(v),
                "function" => o.function = Some(v),
                "section" => o.section = Some(v),
                _ => o.extra.push((key.to_string(), v)),
            }
        } else {
            o.rest.push(a.clone());
        }
    }
    Ok(o)
}

impl Opts {
    /// The value of extra option `--key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extra.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Extra option `--key` as a number (decimal or 0x hex).
    pub fn num(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_num(v).ok_or(format!("--{key}: not a number: {v}")),
        }
    }

    /// Fails on extras not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.extra.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(format!("unknown option --{k}")),
            None => Ok(()),
        }
    }
}

/// Decimal or `0x` hexadecimal.
pub fn parse_num(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// A program id (non-zero u32).
pub fn parse_id(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(id) if id != 0 => Ok(id),
        _ => Err(format!("not a program id: {v}")),
    }
}

/// A program extracted from a clang object: instruction bytes and entry.
#[derive(Debug)]
pub struct ObjProgram {
    pub code: Vec<u8>,
    pub entry: usize,
}

/// Extracts the program from the ELF object at `path`.
pub fn extract(path: &str, o: &Opts) -> Result<ObjProgram, String> {
    let mut elf = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let sel = Selector { section: o.section.as_deref(), function: o.function.as_deref() };
    let p = extract_program_mut(&mut elf, &sel).map_err(|e| format!("{path}: {e}"))?;
    Ok(ObjProgram { code: p.code.to_vec(), entry: p.entry })
}

/// Issues ioctl `req` with `arg` (the C struct's bytes) on `f`.
fn ioctl_bytes(f: &File, req: u32, arg: &mut [u8]) -> std::io::Result<()> {
    // SAFETY: `arg` is a live, writable buffer of exactly the size encoded
    // in `req`, which is all the kernel reads or writes through the pointer.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), req as _, arg.as_mut_ptr()) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The load ioctl's argument for `p` (pointer into `p.code`).
pub fn load_args(p: &ObjProgram) -> Result<LoadArgs, String> {
    Ok(LoadArgs {
        prog_ptr: p.code.as_ptr() as u64,
        prog_len: u32::try_from(p.code.len()).map_err(|_| "program too large".to_string())?,
        flags: 0,
        entry: u32::try_from(p.entry).map_err(|_| "entry too large".to_string())?,
        id_out: 0,
    })
}

/// Loads `p` through any file `f` of a FluffleFS mount; returns the id.
pub fn load(f: &File, p: &ObjProgram) -> Result<u32, String> {
    let mut b: [u8; LOAD_ARGS_SIZE] = load_args(p)?.to_bytes();
    ioctl_bytes(f, IOC_CSD_LOAD, &mut b).map_err(|e| match e.raw_os_error() {
        Some(libc::EINVAL) => format!("load: {e} (the verifier rejected the program: see dmesg)"),
        Some(libc::ENOTTY) => format!("load: {e} (not a FluffleFS mount?)"),
        _ => format!("load: {e}"),
    })?;
    Ok(LoadArgs::from_bytes(&b).id_out)
}

/// Unloads program `id`.
pub fn unload(f: &File, id: u32) -> Result<(), String> {
    let mut b = id.to_le_bytes();
    ioctl_bytes(f, IOC_CSD_UNLOAD, &mut b).map_err(|e| format!("unload {id}: {e}"))
}

/// The run ioctl's argument for `out`.
pub fn run_args(id: u32, offset: u64, len: u64, out: &mut [u8]) -> RunArgs {
    RunArgs { id, flags: 0, offset, len, out_ptr: out.as_mut_ptr() as u64, out_len: out.len() as u64, result_len: 0 }
}

/// Runs program `id` over the file `f` with the explicit ioctl; returns
/// the output.
pub fn exec(f: &File, id: u32, offset: u64, len: u64, out_len: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; out_len];
    let mut b: [u8; RUN_ARGS_SIZE] = run_args(id, offset, len, &mut out).to_bytes();
    ioctl_bytes(f, IOC_CSD_RUN, &mut b).map_err(|e| format!("run {id}: {e}"))?;
    let n = RunArgs::from_bytes(&b).result_len;
    out.truncate(usize::try_from(n).unwrap_or(usize::MAX).min(out_len));
    Ok(out)
}

/// Opens the mount directory (or any file in it) for the ioctls.
pub fn open_mount(o: &Opts) -> Result<File, String> {
    let dir = o.mount.as_deref().unwrap_or(".");
    File::open(dir).map_err(|e| format!("{dir}: {e}"))
}

/// `fluffle load PROG.o [--mount DIR] [--function F] [--section S]`
pub fn run_load(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&[])?;
    let [obj] = o.rest.as_slice() else {
        return Err("usage: fluffle load PROG.o [--mount DIR] [--function NAME] [--section NAME]".into());
    };
    let p = extract(obj, &o)?;
    let id = load(&open_mount(&o)?, &p)?;
    println!("{id}");
    Ok(())
}

/// `fluffle unload ID [--mount DIR]`
pub fn run_unload(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&[])?;
    let [id] = o.rest.as_slice() else {
        return Err("usage: fluffle unload ID [--mount DIR]".into());
    };
    unload(&open_mount(&o)?, parse_id(id)?)
}

/// `fluffle exec ID FILE [--offset N] [--len N] [--out-len N] [--format F]`
pub fn run_exec(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&["offset", "len", "out-len", "format"])?;
    let [id, file] = o.rest.as_slice() else {
        return Err("usage: fluffle exec ID FILE [--offset N] [--len N] [--out-len N] [--format FMT]".into());
    };
    let id = parse_id(id)?;
    let len = o.num("len", 1 << 20)?;
    let out_len = o.num("out-len", len)?;
    let out_len = usize::try_from(out_len).map_err(|_| "--out-len too large".to_string())?;
    let f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let out = exec(&f, id, o.num("offset", 0)?, len, out_len)?;
    crate::cmd_run::print_output(&out, o.get("format").unwrap_or("hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_and_positionals() {
        let o = parse(&s(&["p.o", "--mount", "/mnt", "--function", "average", "--len", "0x10"])).unwrap();
        assert_eq!(o.rest, s(&["p.o"]));
        assert_eq!(o.mount.as_deref(), Some("/mnt"));
        assert_eq!(o.function.as_deref(), Some("average"));
        assert_eq!(o.num("len", 5).unwrap(), 16);
        assert_eq!(o.num("offset", 5).unwrap(), 5);
        assert!(o.only(&[]).is_err());
        assert!(o.only(&["len"]).is_ok());
        assert!(parse(&s(&["--mount"])).is_err());
        assert!(parse_id("0").is_err() && parse_id("x").is_err());
        assert_eq!(parse_id("17"), Ok(17));
    }

    #[test]
    fn load_args_point_at_the_code() {
        let p = ObjProgram { code: vec![0x95, 0, 0, 0, 0, 0, 0, 0], entry: 0 };
        let a = load_args(&p).unwrap();
        let b = a.to_bytes();
        assert_eq!(u64::from_le_bytes(b[0..8].try_into().unwrap()), p.code.as_ptr() as u64);
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 8);
        assert_eq!(b[12..24], [0u8; 12]);
    }

    #[test]
    fn run_args_layout() {
        let mut out = vec![0u8; 100];
        let b = run_args(3, 4096, 200, &mut out).to_bytes();
        assert_eq!(u32::from_le_bytes(b[0..4].try_into().unwrap()), 3);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 4096);
        assert_eq!(u64::from_le_bytes(b[16..24].try_into().unwrap()), 200);
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), out.as_ptr() as u64);
        assert_eq!(u64::from_le_bytes(b[32..40].try_into().unwrap()), 100);
        assert_eq!(u64::from_le_bytes(b[40..48].try_into().unwrap()), 0);
    }

    #[test]
    fn ioctl_on_a_plain_file_fails_cleanly() {
        // Not FluffleFS: ENOTTY, reported as an error, no crash.
        let f = File::open("/proc/self/status").unwrap();
        let p = ObjProgram { code: vec![0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], entry: 0 };
        let e = load(&f, &p).unwrap_err();
        assert!(e.contains("load"), "{e}");
        assert!(unload(&f, 1).is_err());
        assert!(exec(&f, 1, 0, 8, 8).is_err());
    }

    #[test]
    fn extracts_a_clang_object() {
        let dir = std::env::temp_dir().join(format!("fluffle-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let obj = dir.join("average.o");
        let st = std::process::Command::new("clang-19")
            .args(["-target", "bpf", "-O2", "-Wall", "-Werror", "-c", "-I"])
            .arg(root.join("bpf"))
            .arg(root.join("bpf/average.c"))
            .arg("-o")
            .arg(&obj)
            .status()
            .expect("clang-19 is required");
        assert!(st.success());
        let path = obj.to_str().unwrap();
        let p = extract(path, &Opts::default()).unwrap();
        assert!(p.code.len() > 64 && p.code.len().is_multiple_of(8));
        assert_eq!(p.entry, 0);
        let by_name = extract(path, &Opts { function: Some("average".into()), ..Default::default() }).unwrap();
        assert_eq!(by_name.code, p.code);
        assert!(extract(path, &Opts { function: Some("nope".into()), ..Default::default() }).is_err());
        csd::registry::verify_kernel(&p.code, p.entry).expect("what load sends verifies");
    }
}
