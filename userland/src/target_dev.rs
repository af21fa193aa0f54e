//! Opening what the user named: a zoned block device, or a zoned image
//! file (`image_dev`), for mkfs, fsck and dump.

use crate::image_dev::ImageDev;
use crate::zoned_blockdev::ZonedBlockDev;
use fluffle::device::{Geometry, ZoneInfo, ZonedDevice, BLOCK_SIZE};
use fluffle::errno::Result;
use std::os::unix::fs::FileTypeExt;

/// Either kind of device, as one `ZonedDevice`.
pub enum Target {
    Block(ZonedBlockDev),
    Image(ImageDev),
}

/// Command-line arguments shared by mkfs, fsck and dump.
pub struct TargetArgs {
    pub path: String,
    /// Geometry for a new image (mkfs only).
    pub zones: u32,
    pub zone_size_mb: u64,
    pub zone_cap_mb: u64,
}

impl TargetArgs {
    /// Parses `PATH [--zones N] [--zone-size MiB] [--zone-cap MiB]`.
    pub fn parse(args: &[String], usage: &str) -> std::result::Result<Self, String> {
        let mut path = None;
        let (mut zones, mut zone_size_mb, mut zone_cap_mb) = (16, 64, 62);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut num = |name: &str| -> std::result::Result<u64, String> {
                it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number\n{usage}"))
            };
            match a.as_str() {
                "--zones" => zones = num("--zones")? as u32,
                "--zone-size" => zone_size_mb = num("--zone-size")?,
                "--zone-cap" => zone_cap_mb = num("--zone-cap")?,
                p if !p.starts_with('-') && path.is_none() => path = Some(p.to_string()),
                other => return Err(format!("unexpected argument '{other}'\n{usage}")),
            }
        }
        let path = path.ok_or_else(|| usage.to_string())?;
        Ok(Self { path, zones, zone_size_mb, zone_cap_mb })
    }

    fn is_block_device(&self) -> bool {
        std::fs::metadata(&self.path).map(|m| m.file_type().is_block_device()).unwrap_or(false)
    }

    /// Opens an existing device or image.
    pub fn open(&self, writable: bool) -> std::result::Result<Target, String> {
        if self.is_block_device() {
            ZonedBlockDev::open(&self.path, writable).map(Target::Block)
        } else {
            ImageDev::open(&self.path, writable).map(Target::Image)
        }
    }

    /// Opens a device for mkfs, or creates an image of the given geometry.
    pub fn create(&self) -> std::result::Result<Target, String> {
        if self.is_block_device() {
            return self.open(true);
        }
        let blocks_per_mb = (1 << 20) / BLOCK_SIZE as u64;
        ImageDev::create(&self.path, self.zones, self.zone_size_mb * blocks_per_mb, self.zone_cap_mb * blocks_per_mb)
            .map(Target::Image)
    }
}

/// Forwards every `ZonedDevice` call to the device inside.
macro_rules! forward {
    ($self:ident, $d:ident => $call:expr) => {
        match $self {
            Target::Block($d) => $call,
            Target::Image($d) => $call,
        }
    };
}

impl ZonedDevice for Target {
    fn geometry(&self) -> Geometry {
        forward!(self, d => d.geometry())
    }
    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        forward!(self, d => d.report_zone(zone))
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        forward!(self, d => d.read(lba, buf))
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        forward!(self, d => d.write(lba, buf))
    }
    fn reset(&mut self, zone: u32) -> Result<()> {
        forward!(self, d => d.reset(zone))
    }
    fn finish(&mut self, zone: u32) -> Result<()> {
        forward!(self, d => d.finish(zone))
    }
    fn flush(&mut self) -> Result<()> {
        forward!(self, d => d.flush())
    }
}
