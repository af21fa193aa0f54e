//! `fluffle mkfs DEV|IMAGE [--zones N] [--zone-size MiB] [--zone-cap MiB]`:
//! formats a zoned block device, or creates a zoned image file of that
//! geometry (see `image_dev.rs`) and formats it.

use fluffle::fs::format;
use fluffle::types::{FormatOptions, Timespec};

use crate::target_dev::TargetArgs;

const USAGE: &str = "usage: fluffle mkfs DEV|IMAGE [--zones N] [--zone-size MiB] [--zone-cap MiB]";

fn now() -> Timespec {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timespec { sec: d.as_secs() as i64, nsec: d.subsec_nanos() }
}

fn random_uuid() -> [u8; 16] {
    let mut u = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut u);
    }
    u
}

/// Runs `fluffle mkfs`.
pub fn run(args: &[String]) -> Result<(), String> {
    let t = TargetArgs::parse(args, USAGE)?;
    let mut dev = t.create()?;
    let opts = FormatOptions { uuid: random_uuid(), now: now(), ..Default::default() };
    format(&mut dev, &opts).map_err(|e| format!("mkfs {}: errno {}", t.path, e.0))?;
    let g = fluffle::device::ZonedDevice::geometry(&dev);
    println!("{}: FluffleFS formatted, {} zones of {} KiB ({} KiB writable)", t.path, g.zone_count, g.zone_size * 4, g.zone_cap * 4);
    Ok(())
}
