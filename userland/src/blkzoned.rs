//! The zoned block device ioctls of `<linux/blkzoned.h>`: zone report,
//! reset and finish, on an open block device.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;

/// One zone as the kernel reports it (units: 512-byte sectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    pub start: u64,
    pub len: u64,
    pub capacity: u64,
    pub wp: u64,
    pub zone_type: u8,
    pub cond: u8,
}

/// `struct blk_zone` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawZone {
    start: u64,
    len: u64,
    wp: u64,
    zone_type: u8,
    cond: u8,
    non_seq: u8,
    reset: u8,
    resv: [u8; 4],
    capacity: u64,
    reserved: [u8; 24],
}

/// `struct blk_zone_report` header; the zone array follows it.
#[repr(C)]
struct RawReportHeader {
    sector: u64,
    nr_zones: u32,
    flags: u32,
}

/// `struct blk_zone_range` for reset/finish.
#[repr(C)]
struct RawRange {
    sector: u64,
    nr_sectors: u64,
}

const fn iowr(nr: u64, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | (0x12 << 8) | nr
}
const fn iow(nr: u64, size: usize) -> u64 {
    (1 << 30) | ((size as u64) << 16) | (0x12 << 8) | nr
}
const BLKREPORTZONE: u64 = iowr(130, std::mem::size_of::<RawReportHeader>());
const BLKRESETZONE: u64 = iow(131, std::mem::size_of::<RawRange>());
const BLKFINISHZONE: u64 = iow(136, std::mem::size_of::<RawRange>());
/// `BLK_ZONE_REP_CAPACITY`: the kernel filled in `capacity`.
const REP_CAPACITY: u32 = 1;

/// Zone conditions (`enum blk_zone_cond`) by their short names.
pub fn cond_name(cond: u8) -> &'static str {
    match cond {
        0x0 => "not-wp",
        0x1 => "empty",
        0x2 => "imp-open",
        0x3 => "exp-open",
        0x4 => "closed",
        0xd => "read-only",
        0xe => "full",
        0xf => "offline",
        _ => "unknown",
    }
}

/// Zone types (`enum blk_zone_type`) by their short names.
pub fn type_name(t: u8) -> &'static str {
    match t {
        1 => "conventional",
        2 => "seq-write-required",
        3 => "seq-write-preferred",
        _ => "unknown",
    }
}

/// Reports every zone of the device, in order.
pub fn report_zones(dev: &File) -> io::Result<Vec<Zone>> {
    report_zones_from(dev, 0, u32::MAX)
}

/// Reports up to `max` zones starting with the one holding `sector`.
pub fn report_zones_from(dev: &File, sector: u64, max: u32) -> io::Result<Vec<Zone>> {
    const BATCH: usize = 256;
    let header = std::mem::size_of::<RawReportHeader>();
    let zsize = std::mem::size_of::<RawZone>();
    // u64 words keep the buffer aligned for both structs.
    let mut buf = vec![0u64; (header + BATCH * zsize) / 8];
    let mut zones = Vec::new();
    let mut sector = sector;
    while zones.len() < max as usize {
        buf.iter_mut().for_each(|w| *w = 0);
        let hdr = buf.as_mut_ptr() as *mut RawReportHeader;
        // SAFETY: `buf` is large and aligned enough for the header.
        unsafe {
            (*hdr).sector = sector;
            (*hdr).nr_zones = BATCH.min(max as usize - zones.len()) as u32;
        }
        // SAFETY: the buffer holds the header plus room for `nr_zones`
        // zones, as BLKREPORTZONE requires; the fd is an open file.
        let rc = unsafe { libc::ioctl(dev.as_raw_fd(), BLKREPORTZONE as _, buf.as_mut_ptr()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel wrote the header; read it back.
        let (n, flags) = unsafe { ((*hdr).nr_zones as usize, (*hdr).flags) };
        if n == 0 {
            break;
        }
        for i in 0..n.min(BATCH) {
            // SAFETY: zone `i < BATCH` lies inside `buf`, after the header.
            let raw: RawZone = unsafe {
                std::ptr::read_unaligned((buf.as_ptr() as *const u8).add(header + i * zsize) as *const RawZone)
            };
            zones.push(Zone {
                start: raw.start,
                len: raw.len,
                capacity: if flags & REP_CAPACITY != 0 { raw.capacity } else { raw.len },
                wp: raw.wp,
                zone_type: raw.zone_type,
                cond: raw.cond,
            });
            sector = raw.start + raw.len;
        }
    }
    Ok(zones)
}

fn zone_range_ioctl(dev: &File, req: u64, sector: u64, nr_sectors: u64) -> io::Result<()> {
    let range = RawRange { sector, nr_sectors };
    // SAFETY: `range` is a valid `blk_zone_range` for the ioctl to read.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), req as _, &range) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resets the zones in `[sector, sector + nr_sectors)` (write pointer to start).
pub fn reset_zones(dev: &File, sector: u64, nr_sectors: u64) -> io::Result<()> {
    zone_range_ioctl(dev, BLKRESETZONE, sector, nr_sectors)
}

/// Finishes the zones in `[sector, sector + nr_sectors)` (marks them full).
pub fn finish_zones(dev: &File, sector: u64, nr_sectors: u64) -> io::Result<()> {
    zone_range_ioctl(dev, BLKFINISHZONE, sector, nr_sectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_linux_headers() {
        // Values of BLKREPORTZONE/BLKRESETZONE/BLKFINISHZONE on x86_64.
        assert_eq!(BLKREPORTZONE, 0xc010_1282);
        assert_eq!(BLKRESETZONE, 0x4010_1283);
        assert_eq!(BLKFINISHZONE, 0x4010_1288);
        assert_eq!(std::mem::size_of::<RawZone>(), 64);
    }

    #[test]
    fn report_on_regular_file_is_an_error() {
        let f = File::open("/proc/self/exe").unwrap();
        assert!(report_zones(&f).is_err());
    }
}
