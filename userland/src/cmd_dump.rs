//! `fluffle dump DEV|IMAGE [--entries]`:
//! prints the geometry, the newest checkpoint, the zone table and every
//! inode (with `--entries`, directory entries and extents too), from a
//! read-only mount.

use fluffle::fs::Fs;
use fluffle::types::MountOptions;

use crate::target_dev::TargetArgs;

const USAGE: &str = "usage: fluffle dump DEV|IMAGE [--entries]";

/// Runs `fluffle dump`.
pub fn run(args: &[String]) -> Result<(), String> {
    let entries = args.iter().any(|a| a == "--entries");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--entries").cloned().collect();
    let t = TargetArgs::parse(&rest, USAGE)?;
    let dev = t.open(false)?;
    let mut fs = Fs::mount(dev, &MountOptions { read_only: true, ..Default::default() })
        .map_err(|e| format!("{}: cannot mount: {} (errno {})", t.path, fluffle::errno::mount_failure(e), e.0))?;
    // Mount reads inodes on demand; the dump lists them all.
    fs.load_all().map_err(|e| format!("{}: cannot read every inode: errno {}", t.path, e.0))?;
    let mut out = String::new();
    fs.dump(&mut out, entries).map_err(|e| e.to_string())?;
    print!("{out}");
    Ok(())
}
