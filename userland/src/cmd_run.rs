//! `fluffle run PROG.o FILE`: load a kernel, attach it as this process's
//! read stream of FILE, read FILE (getting the kernel's output instead of
//! the bytes), print it in a chosen format, detach and unload.
//!
//! Formats: `hex` (dump), `raw` (bytes to stdout), `u64` / `i64` (8-byte
//! little-endian words, one per line), `average` (the average kernel's
//! sum/count/average), `histogram` (256 u32 bins, non-zero ones printed),
//! `entropy` (Shannon entropy computed here in f64 from the histogram, next
//! to the kernel's fixed-point value when present).

use crate::cmd_attach::attach_fd;
use crate::cmd_load::{extract, load, open_mount, parse, unload};
use std::fs::File;
use std::io::{Read, Write};

/// `fluffle run PROG.o FILE [--format F] [--len N] [--function NAME] [--section NAME]`
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&["format", "len"])?;
    let [obj, file] = o.rest.as_slice() else {
        return Err("usage: fluffle run PROG.o FILE [--format hex|raw|u64|i64|average|histogram|entropy] [--len N] [--function NAME]".into());
    };
    let len = usize::try_from(o.num("len", 16 << 20)?).map_err(|_| "--len too large".to_string())?;
    let p = extract(obj, &o)?;
    let mut f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
    // Load through the file itself unless a mount is named.
    let id = match o.mount {
        Some(_) => load(&open_mount(&o)?, &p)?,
        None => load(&f, &p)?,
    };
    let res = attach_fd(&f, false, id).and_then(|_| read_all(&mut f, len).map_err(|e| format!("{file}: read: {e}")));
    // Closing the file ends the attachment; then the program can go.
    drop(f);
    let unloaded = match o.mount {
        Some(_) => open_mount(&o).and_then(|m| unload(&m, id)),
        None => File::open(file).map_err(|e| e.to_string()).and_then(|m| unload(&m, id)),
    };
    let out = res?;
    if let Err(e) = unloaded {
        eprintln!("fluffle: warning: {e}");
    }
    print_output(&out, o.get("format").unwrap_or("hex"))
}

/// Reads until end of file or `len` bytes.
fn read_all(f: &mut File, len: usize) -> std::io::Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut n = 0;
    while n < len {
        match f.read(&mut out[n..])? {
            0 => break,
            k => n += k,
        }
    }
    out.truncate(n);
    Ok(out)
}

/// Shannon entropy in bits per byte of a histogram.
pub fn entropy_of(hist: &[u64]) -> f64 {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return 0.0;
    }
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

fn words(out: &[u8]) -> impl Iterator<Item = [u8; 8]> + '_ {
    out.chunks_exact(8).map(|c| c.try_into().unwrap_or([0; 8]))
}

fn histogram(out: &[u8]) -> Result<Vec<u64>, String> {
    if out.len() < 1024 {
        return Err(format!("histogram needs 1024 bytes of output, got {}", out.len()));
    }
    Ok(out[..1024].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64).collect())
}

/// Formats a kernel's output as text (`raw` is handled by the caller).
pub fn format_output(out: &[u8], format: &str) -> Result<String, String> {
    let mut s = String::new();
    match format {
        "hex" => {
            for (i, line) in out.chunks(16).enumerate() {
                let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
                s.push_str(&format!("{:08x}  {}\n", i * 16, hex.join(" ")));
            }
        }
        "u64" => words(out).for_each(|w| s.push_str(&format!("{}\n", u64::from_le_bytes(w)))),
        "i64" => words(out).for_each(|w| s.push_str(&format!("{}\n", i64::from_le_bytes(w)))),
        "average" => {
            if out.len() < 24 {
                return Err(format!("average needs 24 bytes of output, got {}", out.len()));
            }
            let w: Vec<i64> = words(out).map(i64::from_le_bytes).collect();
            s.push_str(&format!("sum {}\ncount {}\naverage {}\n", w[0], w[1] as u64, w[2]));
        }
        "histogram" => {
            for (b, c) in histogram(out)?.iter().enumerate().filter(|(_, &c)| c > 0) {
                s.push_str(&format!("{b:3} {c}\n"));
            }
        }
        "entropy" => {
            let h = histogram(out)?;
            s.push_str(&format!("bytes {}\nentropy {:.6} bits/byte\n", h.iter().sum::<u64>(), entropy_of(&h)));
            if out.len() >= 1040 {
                let q = u64::from_le_bytes(out[1032..1040].try_into().unwrap_or([0; 8]));
                s.push_str(&format!("kernel fixed-point entropy {:.6} bits/byte\n", q as f64 / 65536.0));
            }
        }
        other => return Err(format!("unknown format {other}")),
    }
    Ok(s)
}

/// Prints a kernel's output in `format`.
pub fn print_output(out: &[u8], format: &str) -> Result<(), String> {
    if format == "raw" {
        return std::io::stdout().write_all(out).map_err(|e| e.to_string());
    }
    print!("{}", format_output(out, format)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let mut avg = Vec::new();
        for v in [-10i64, 4, -2] {
            avg.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(format_output(&avg, "average").unwrap(), "sum -10\ncount 4\naverage -2\n");
        assert_eq!(format_output(&avg, "i64").unwrap(), "-10\n4\n-2\n");
        assert!(format_output(&avg[..8], "average").is_err());
        assert_eq!(format_output(&[1, 2, 255], "hex").unwrap(), "00000000  01 02 ff\n");
        assert!(format_output(&[], "nope").is_err());
    }

    #[test]
    fn entropy_from_histogram() {
        let mut out = vec![0u8; 1040];
        // Two equally frequent values: exactly one bit per byte.
        out[0..4].copy_from_slice(&5u32.to_le_bytes());
        out[4..8].copy_from_slice(&5u32.to_le_bytes());
        out[1032..1040].copy_from_slice(&(1u64 << 16).to_le_bytes());
        let s = format_output(&out, "entropy").unwrap();
        assert!(s.contains("bytes 10\n"), "{s}");
        assert!(s.contains("entropy 1.000000 bits/byte"), "{s}");
        assert!(s.contains("kernel fixed-point entropy 1.000000"), "{s}");
        assert_eq!(format_output(&out, "histogram").unwrap(), "  0 5\n  1 5\n");
        assert_eq!(entropy_of(&[0; 256]), 0.0);
        assert!((entropy_of(&[1; 256]) - 8.0).abs() < 1e-12);
    }
}
