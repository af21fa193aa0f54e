//! `fluffle mkfs [-L LABEL] DEV|IMAGE [--zones N] [--zone-size MiB]
//! [--zone-cap MiB]`: formats a zoned block device, or creates a zoned
//! image file of that geometry (see `image_dev.rs`) and formats it, with a
//! new random uuid and the volume label LABEL (at most 255 bytes; shown by
//! `FS_IOC_GETFSLABEL` and `fluffle dump`).

use fluffle::fs::format;
use fluffle::types::{FormatOptions, Timespec};

use crate::target_dev::TargetArgs;

const USAGE: &str = "usage: fluffle mkfs [-L LABEL] DEV|IMAGE [--zones N] [--zone-size MiB] [--zone-cap MiB]";

/// Takes `-L LABEL` (also `-LLABEL`, `--label LABEL`) out of `args`.
fn take_label(args: &[String]) -> Result<(Vec<String>, [u8; fluffle::types::LABEL_MAX + 1]), String> {
    let mut rest = Vec::new();
    let mut label = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = match a.as_str() {
            "-L" | "--label" => Some(it.next().ok_or_else(|| format!("{a} needs a label\n{USAGE}"))?.clone()),
            s if s.starts_with("-L") => Some(s[2..].to_string()),
            _ => None,
        };
        match v {
            Some(v) => label = Some(v),
            None => rest.push(a.clone()),
        }
    }
    let label = label.unwrap_or_default();
    let l = fluffle::label::from_bytes(label.as_bytes())
        .ok_or_else(|| format!("label '{label}' is longer than {} bytes", fluffle::types::LABEL_MAX))?;
    Ok((rest, l))
}

fn now() -> Timespec {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timespec { sec: d.as_secs() as i64, nsec: d.subsec_nanos() }
}

/// A random (version 4, RFC 9562) uuid.
fn random_uuid() -> Result<[u8; 16], String> {
    use std::io::Read;
    let mut u = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut u))
        .map_err(|e| format!("mkfs: no random uuid from /dev/urandom: {e}"))?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

/// Runs `fluffle mkfs`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (args, label) = take_label(args)?;
    let t = TargetArgs::parse(&args, USAGE)?;
    let mut dev = t.create()?;
    let opts = FormatOptions { uuid: random_uuid()?, now: now(), label, ..Default::default() };
    format(&mut dev, &opts).map_err(|e| format!("mkfs {}: errno {}", t.path, e.0))?;
    let g = fluffle::device::ZonedDevice::geometry(&dev);
    println!("{}: FluffleFS formatted, {} zones of {} KiB ({} KiB writable)", t.path, g.zone_count, g.zone_size * 4, g.zone_cap * 4);
    Ok(())
}
