//! Human-readable dump of a mounted filesystem: geometry, checkpoint,
//! zone table, inodes (used by `fluffle dump`).

use core::fmt::Write;

use super::device::ZonedDevice;
use super::fs::Fs;
use super::types::FileType;
use super::zones::{ZState, NHEADS};

impl<D: ZonedDevice> Fs<D> {
    /// Writes the dump to `out`. `entries` also lists directory entries
    /// and extents.
    pub fn dump(&mut self, out: &mut dyn Write, entries: bool) -> core::fmt::Result {
        let g = self.geo;
        writeln!(out, "geometry: {} zones x {} blocks (capacity {}), max open {}, max active {}", g.zone_count, g.zone_size, g.zone_cap, g.max_open, g.max_active)?;
        write!(out, "uuid: ")?;
        for b in self.uuid.iter() {
            write!(out, "{b:02x}")?;
        }
        writeln!(out)?;
        // Lossy: a label is bytes; non-UTF-8 ones show as escapes.
        writeln!(out, "label: \"{}\"", self.label().escape_ascii())?;
        writeln!(out, "checkpoint: seq {} in zone {} (zone write pointer {})", self.cp_seq, self.ckpt_zone, self.ckpt_wp)?;
        writeln!(out, "next inode {}, node version {}, inodes {} ({} in memory)", self.next_ino, self.node_version, self.inodes_used, self.inodes.len())?;
        let mut nat_blocks = 0u64;
        self.nat.for_each_block(&mut |_, _, _| nat_blocks += 1);
        writeln!(
            out,
            "NAT: tree of {} blocks, {} interior levels, root at lba {}; {} entries journaled",
            nat_blocks,
            self.nat.height(),
            self.nat.root(),
            self.nat.journal.len()
        )?;
        writeln!(
            out,
            "space: usable {} blocks, live {}, reserved by fallocate {}, free zones {}, reserve {} zones",
            self.zones.usable_blocks(),
            self.zones.live_blocks(),
            self.prealloc,
            self.zones.free_zones(),
            self.zones.reserve
        )?;
        for h in 0..NHEADS {
            if let Some(z) = self.zones.heads[h] {
                writeln!(out, "head {h}: zone {z}")?;
            }
        }
        writeln!(out, "zones (state write-pointer valid):")?;
        for (i, z) in self.zones.z.iter().enumerate() {
            let st = match z.state {
                ZState::Free => "free",
                ZState::Head => "head",
                ZState::Used => "used",
                ZState::Ckpt => "ckpt",
            };
            if z.state == ZState::Free && z.wp == 0 {
                continue;
            }
            writeln!(out, "  zone {i:5} {st:4} wp {:6} live {:6} pins {}", z.wp, z.live_blocks(), z.pins)?;
        }
        writeln!(out, "inodes (ino type mode nlink uid gid size node@lba+blocks):")?;
        let slots = self.inodes.slots().map_err(|_| core::fmt::Error)?;
        for i in slots.iter().copied() {
            let n = &self.inodes[i];
            let t = match n.ftype {
                FileType::Regular => "file",
                FileType::Directory => "dir ",
                FileType::Symlink => "link",
                FileType::Fifo => "fifo",
                FileType::CharDev => "chr ",
                FileType::BlockDev => "blk ",
                FileType::Socket => "sock",
            };
            writeln!(
                out,
                "  {:8} {t} {:04o} {:5} {:5} {:5} {:12} node@{}+{}{} extents {} xattrs {}{}",
                n.ino,
                n.mode,
                n.nlink,
                n.uid,
                n.gid,
                n.size,
                n.node_lba,
                n.node_blocks,
                if n.packed { " (pack)" } else { "" },
                n.map.v.len(),
                n.xattrs().len(),
                if n.inline.is_some() { " inline" } else { "" }
            )?;
            if !n.prealloc().is_empty() {
                writeln!(out, "      reserved {} blocks in {} runs", n.prealloc_blocks(), n.prealloc().len())?;
            }
            if n.ftype.has_rdev() {
                // Kernel dev_t: major in the top 12 bits, minor below.
                writeln!(out, "      rdev {}:{}", n.rdev >> 20, n.rdev & 0xfffff)?;
            }
            if entries {
                let mut res = Ok(());
                let walked = self.dir_walk(i, 2, &mut |e, name| {
                    res = write_entry(out, e.cookie, e.ino, name);
                    res.is_ok()
                });
                res?;
                if walked.is_err() {
                    writeln!(out, "      (dentry blocks do not read)")?;
                }
                let n = &self.inodes[i];
                for e in n.map.v.iter() {
                    writeln!(out, "      blocks {}..{} -> lba {}", e.fblk, e.end(), e.lba)?;
                }
            }
        }
        Ok(())
    }
}

fn write_entry(out: &mut dyn Write, cookie: u64, ino: u64, name: &[u8]) -> core::fmt::Result {
    write!(out, "      [{cookie}] ino {ino} ")?;
    for &b in name.iter() {
        if b.is_ascii_graphic() || b == b' ' {
            write!(out, "{}", b as char)?;
        } else {
            write!(out, "\\x{b:02x}")?;
        }
    }
    writeln!(out)
}
