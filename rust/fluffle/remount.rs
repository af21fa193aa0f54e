//! Switching a mounted filesystem between read-write and read-only
//! (`mount -o remount,ro` / `remount,rw`).
//!
//! Read-only means the core writes nothing: no checkpoint, no GC, no
//! summary, every change `EROFS`. Going read-only therefore first makes
//! everything durable (write back, checkpoint), so that the device is
//! consistent for as long as the filesystem stays read-only. Going
//! read-write after a read-only *mount* finishes that mount: the zone
//! summaries it kept in memory (`tails.rs`), finishing the zones with live
//! blocks and the checkpoint of what roll-forward and orphan cleanup
//! changed in memory (`recovery.rs`), exactly what a read-write mount
//! would have written.

use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::mem::FVec;

impl<D: ZonedDevice> Fs<D> {
    /// Whether the core refuses changes with `EROFS`.
    pub fn is_read_only(&self) -> bool {
        self.ro
    }

    /// Whether mount found fsynced nodes to roll forward or orphans to
    /// free since the last checkpoint (a crash): a read-only mount did
    /// that in memory only, and says so.
    pub fn needed_recovery(&self) -> bool {
        self.recovered
    }

    /// Remount read-only: writes back every dirty page and inode, writes a
    /// checkpoint, then refuses changes (`EROFS`) and stops GC (its steps
    /// fail with `EROFS`). On a failure nothing changes.
    pub fn set_read_only(&mut self) -> Result<()> {
        if self.ro {
            return Ok(());
        }
        self.sync()?;
        self.ro = true;
        Ok(())
    }

    /// Remount read-write. `EIO` after a failed device write or shutdown
    /// (the filesystem stays read-only).
    pub fn set_read_write(&mut self) -> Result<()> {
        if !self.ro {
            return Ok(());
        }
        if self.broken || self.zones.failed {
            return Err(EIO);
        }
        self.ro = false;
        let r = self.leave_read_only();
        if r.is_err() {
            self.ro = true;
        }
        r
    }

    fn leave_read_only(&mut self) -> Result<()> {
        // Files unlinked while open, then closed while read-only (release
        // keeps them then): nobody holds them any more.
        let mut gone = FVec::new();
        for n in self.inodes.iter() {
            if n.nlink == 0 && n.holds == 0 {
                gone.try_push(n.ino)?;
            }
        }
        for &ino in gone.iter() {
            let i = self.find(ino)?;
            self.free_inode(i)?;
        }
        if self.unfinished {
            let unsealed = core::mem::replace(&mut self.unsealed, FVec::new());
            for (zone, chunk) in unsealed.iter() {
                if let Err(e) = self.zones.write_chunk(&mut self.dev, *zone, chunk) {
                    self.broken = true;
                    return Err(e);
                }
            }
            self.finish_mount()?;
            self.unfinished = false;
        }
        Ok(())
    }
}
