//! `fluffle zones DEVICE`: the device's zone report, one line per zone.

use crate::blkzoned::{cond_name, report_zones, type_name};
use std::fs::File;

const SECTOR: u64 = 512;

pub fn run(args: &[String]) -> Result<(), String> {
    let [dev] = args else {
        return Err("usage: fluffle zones DEVICE".into());
    };
    let f = File::open(dev).map_err(|e| format!("{dev}: {e}"))?;
    let zones = report_zones(&f).map_err(|e| format!("{dev}: zone report failed: {e} (not a zoned block device?)"))?;
    let Some(first) = zones.first() else {
        return Err(format!("{dev}: device reports no zones"));
    };
    println!(
        "{dev}: {} zones, zone size {} sectors ({} MiB), capacity {} sectors ({} MiB), sector = {SECTOR} bytes",
        zones.len(),
        first.len,
        first.len * SECTOR >> 20,
        first.capacity,
        first.capacity * SECTOR >> 20
    );
    println!("{:>5} {:>12} {:>10} {:>10} {:>12} {:<10} {}", "zone", "start", "len", "capacity", "wp", "cond", "type");
    for (i, z) in zones.iter().enumerate() {
        println!(
            "{:>5} {:>12} {:>10} {:>10} {:>12} {:<10} {}",
            i,
            z.start,
            z.len,
            z.capacity,
            z.wp,
            cond_name(z.cond),
            type_name(z.zone_type)
        );
    }
    Ok(())
}
