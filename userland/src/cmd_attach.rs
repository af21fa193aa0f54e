//! `fluffle attach FILE --read ID | --write ID [-- COMMAND ARGS...]`:
//! attaches a loaded kernel to FILE for the calling process through the
//! process-scoped xattrs (`user.process.csd_read_stream` /
//! `csd_write_stream`, value: the id in decimal).
//!
//! An attachment belongs to the process that made it (a separate
//! `setfattr` process's attachment ends with it). With `-- COMMAND` this
//! process attaches and then becomes COMMAND (exec keeps the process), so
//! `fluffle attach data --read 3 -- cat data` is a plain `cat` that reads
//! the kernel's output. Without a command it only shows that attaching
//! works (or fails: EACCES, ENOENT).

use crate::cmd_load::{parse, parse_id};
use csd::abi::{XATTR_READ_STREAM, XATTR_WRITE_STREAM};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;

/// The xattr name and value that attach `id` as a read or write stream.
pub fn xattr_for(write: bool, id: u32) -> (&'static str, String) {
    (if write { XATTR_WRITE_STREAM } else { XATTR_READ_STREAM }, id.to_string())
}

/// Attaches `id` to the open file `f` (fsetxattr).
pub fn attach_fd(f: &File, write: bool, id: u32) -> Result<(), String> {
    let (name, value) = xattr_for(write, id);
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: valid fd, NUL-terminated name, and a value buffer of the
    // given length that lives across the call.
    let rc = unsafe { libc::fsetxattr(f.as_raw_fd(), cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc < 0 {
        return Err(format!("setxattr {name}={value}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Attaches `id` to the file at `path` (setxattr by path: no descriptor is
/// left open, so an exec'd command keeps the attachment until it closes
/// the file itself).
pub fn attach_path(path: &str, write: bool, id: u32) -> Result<(), String> {
    let (name, value) = xattr_for(write, id);
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let cpath = CString::new(path).map_err(|e| e.to_string())?;
    // SAFETY: NUL-terminated path and name, and a value buffer of the given
    // length that lives across the call.
    let rc = unsafe { libc::setxattr(cpath.as_ptr(), cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc < 0 {
        return Err(format!("{path}: setxattr {name}={value}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `fluffle attach FILE --read ID | --write ID [-- COMMAND ARGS...]`
pub fn run(args: &[String]) -> Result<(), String> {
    let (args, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], Some(&args[i + 1..])),
        None => (args, None),
    };
    if let Some(cmd) = command {
        return attach_and_exec(args, cmd);
    }
    let o = parse(args)?;
    o.only(&["read", "write"])?;
    let usage = "usage: fluffle attach FILE --read ID | --write ID";
    let [file] = o.rest.as_slice() else {
        return Err(usage.into());
    };
    if o.get("read").is_none() && o.get("write").is_none() {
        return Err(usage.into());
    }
    let f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
    if let Some(id) = o.get("read") {
        attach_fd(&f, false, parse_id(id)?)?;
        println!("{file}: read stream {id} attached (for this process only)");
    }
    if let Some(id) = o.get("write") {
        attach_fd(&f, true, parse_id(id)?)?;
        println!("{file}: write stream {id} attached (for this process only)");
    }
    Ok(())
}

/// Attaches, then replaces this process by `cmd` (same process, so the
/// attachment stays).
fn attach_and_exec(args: &[String], cmd: &[String]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let o = parse(args)?;
    o.only(&["read", "write"])?;
    let [file] = o.rest.as_slice() else {
        return Err("usage: fluffle attach FILE --read ID | --write ID -- COMMAND [ARGS...]".into());
    };
    let Some((prog, prog_args)) = cmd.split_first() else {
        return Err("nothing to run after --".into());
    };
    if let Some(id) = o.get("read") {
        attach_path(file, false, parse_id(id)?)?;
    }
    if let Some(id) = o.get("write") {
        attach_path(file, true, parse_id(id)?)?;
    }
    let err = std::process::Command::new(prog).args(prog_args).exec();
    Err(format!("{prog}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xattr_names_and_values() {
        assert_eq!(xattr_for(false, 12), ("user.process.csd_read_stream", "12".to_string()));
        assert_eq!(xattr_for(true, 3), ("user.process.csd_write_stream", "3".to_string()));
    }

    #[test]
    fn attach_outside_flufflefs_fails_cleanly() {
        // procfs has no user xattrs: a clean error, nothing written.
        let f = File::open("/proc/self/status").unwrap();
        assert!(attach_fd(&f, false, 1).is_err());
        assert!(run(&["x".to_string()]).is_err(), "needs --read or --write");
    }
}
