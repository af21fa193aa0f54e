//! `fluffle fsck DEV|IMAGE`: mounts
//! read-only (roll-forward in memory only) and checks every invariant.
//! Exit status 4 if the filesystem cannot be mounted or any problem is
//! found (fsck(8)'s "errors left uncorrected"), 0 if clean.

use fluffle::fsck::fsck;

use crate::target_dev::TargetArgs;

const USAGE: &str = "usage: fluffle fsck DEV|IMAGE";

/// Runs `fluffle fsck`.
pub fn run(args: &[String]) -> Result<(), String> {
    let t = TargetArgs::parse(args, USAGE)?;
    let dev = t.open(false)?;
    let report = match fsck(dev) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fluffle: {}: cannot mount: {} (errno {})", t.path, fluffle::errno::mount_failure(e), e.0);
            std::process::exit(4);
        }
    };
    for p in report.list.iter() {
        println!("problem: {:?} inode {} ({})", p.kind, p.ino, p.detail);
    }
    println!("{}: {} inodes, {} live blocks, {} problems", t.path, report.inodes, report.blocks, report.count);
    if report.count > 0 {
        eprintln!("fluffle: {}: filesystem damaged", t.path);
        std::process::exit(4);
    }
    Ok(())
}
