//! `fluffle fsck [-n|-f|-y|-p|-a|-v]... DEV|IMAGE`: mounts
//! read-only (roll-forward in memory only) and checks every invariant.
//! Exit status (fsck(8)'s): 0 clean, 4 if the filesystem cannot be
//! mounted or any problem is found ("errors left uncorrected"), 16 on a
//! usage error.
//!
//! The checker never writes, so the standard flags fsck(8), fstests and
//! boot scripts pass all mean "check": `-n` (no changes) is what it always
//! does, `-f` (force a check of a clean filesystem) too, and `-y`, `-p`,
//! `-a` (repair: answer yes, preen) repair nothing and report damage
//! with exit 4, as e2fsck does for what it cannot fix.

use fluffle::fsck::fsck;

use crate::target_dev::TargetArgs;

const USAGE: &str = "usage: fluffle fsck [-n] [-f] [-y|-p|-a] [-v] DEV|IMAGE (read-only check; never writes)";

/// fsck(8)'s exit status for a usage or syntax error.
const EXIT_USAGE: i32 = 16;
/// fsck(8)'s exit status for errors left uncorrected.
const EXIT_UNCORRECTED: i32 = 4;

/// The flags given, for the report: none changes what is checked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `-y`, `-p` or `-a`: a repair was asked for (none is made).
    pub repair_asked: bool,
    /// `-v`.
    pub verbose: bool,
}

/// Splits fsck's single-letter flags (alone or grouped: `-fn`) from the
/// rest; an unknown letter is a usage error.
pub fn split_flags(args: &[String]) -> Result<(Flags, Vec<String>), String> {
    let mut flags = Flags::default();
    let mut rest = Vec::new();
    for a in args {
        let letters = match a.strip_prefix('-') {
            Some(l) if !l.is_empty() && !l.starts_with('-') => l,
            _ => {
                rest.push(a.clone());
                continue;
            }
        };
        for c in letters.chars() {
            match c {
                'n' | 'f' => {}
                'y' | 'p' | 'a' => flags.repair_asked = true,
                'v' => flags.verbose = true,
                _ => return Err(format!("unknown flag '-{c}'\n{USAGE}")),
            }
        }
    }
    Ok((flags, rest))
}

/// Runs `fluffle fsck`.
pub fn run(args: &[String]) -> Result<(), String> {
    let parsed = split_flags(args).and_then(|(f, rest)| Ok((f, TargetArgs::parse(&rest, USAGE)?)));
    let (flags, t) = match parsed {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("fluffle: {msg}");
            std::process::exit(EXIT_USAGE);
        }
    };
    let dev = t.open(false)?;
    let report = match fsck(dev) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fluffle: {}: cannot mount: {} (errno {})", t.path, fluffle::errno::mount_failure(e), e.0);
            std::process::exit(EXIT_UNCORRECTED);
        }
    };
    for p in report.list.iter() {
        println!("problem: {:?} inode {} ({})", p.kind, p.ino, p.detail);
    }
    println!("{}: {} inodes, {} live blocks, {} problems", t.path, report.inodes, report.blocks, report.count);
    if report.count > 0 {
        let why = if flags.repair_asked { " (fsck.flufflefs repairs nothing: nothing was changed)" } else { "" };
        eprintln!("fluffle: {}: filesystem damaged{why}", t.path);
        std::process::exit(EXIT_UNCORRECTED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn standard_flags_are_accepted_alone_and_grouped() {
        for f in ["-n", "-f", "-y", "-p", "-a", "-fn", "-nf", "-fy", "-v"] {
            let (_, rest) = split_flags(&v(&[f, "/dev/x"])).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(rest, v(&["/dev/x"]), "{f}");
        }
        let (flags, rest) = split_flags(&v(&["-f", "-p", "img", "--zones", "4"])).unwrap();
        assert_eq!((flags.repair_asked, rest), (true, v(&["img", "--zones", "4"])));
        assert!(!split_flags(&v(&["-n", "img"])).unwrap().0.repair_asked);
    }

    #[test]
    fn unknown_flags_are_usage_errors() {
        for f in ["-x", "-nx", "-c"] {
            assert!(split_flags(&v(&[f, "/dev/x"])).is_err(), "{f}");
        }
    }
}
