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
    let len = usize::try_from(o.num("len", 256 << 20)?).map_err(|_| "--len too large".to_string())?;
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

/// `fluffle write PROG.o FILE [--chunk N] [--append yes]`: loads a
/// write-stream kernel, attaches it to FILE for this process, copies stdin
/// to FILE in write() calls of `--chunk` bytes (default 1 MiB; each call is
/// one request the kernel transforms, e.g. one record with a trailer),
/// then detaches and unloads. FILE is created or truncated unless
/// `--append yes`.
pub fn run_write(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&["chunk", "append"])?;
    let [obj, file] = o.rest.as_slice() else {
        return Err("usage: fluffle write PROG.o FILE [--chunk N] [--append yes] < DATA".into());
    };
    let chunk = usize::try_from(o.num("chunk", READ_CHUNK as u64)?).map_err(|_| "--chunk too large".to_string())?;
    if chunk == 0 {
        return Err("--chunk must be positive".into());
    }
    let append = matches!(o.get("append"), Some("yes") | Some("1") | Some("true"));
    let p = extract(obj, &o)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(!append)
        .append(append)
        .open(file)
        .map_err(|e| format!("{file}: {e}"))?;
    let id = match o.mount {
        Some(_) => load(&open_mount(&o)?, &p)?,
        None => load(&f, &p)?,
    };
    let res = attach_fd(&f, true, id).and_then(|_| {
        copy_chunks(&mut std::io::stdin().lock(), &mut f, chunk).map_err(|e| format!("{file}: write: {e}"))
    });
    drop(f);
    let unloaded = match o.mount {
        Some(_) => open_mount(&o).and_then(|m| unload(&m, id)),
        None => File::open(file).map_err(|e| e.to_string()).and_then(|m| unload(&m, id)),
    };
    let n = res?;
    if let Err(e) = unloaded {
        eprintln!("fluffle: warning: {e}");
    }
    eprintln!("{file}: {n} bytes written through kernel {id}");
    Ok(())
}

/// Copies `r` to `w` with one write() per `chunk` bytes read (short reads
/// from a pipe are gathered first, so records have the chunk size except
/// the last); returns the bytes copied.
fn copy_chunks(r: &mut impl Read, w: &mut impl Write, chunk: usize) -> std::io::Result<u64> {
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    loop {
        let mut n = 0;
        while n < chunk {
            match r.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            return Ok(total);
        }
        // One write() call per record: a short write would split it.
        let k = w.write(&buf[..n])?;
        if k != n {
            return Err(std::io::Error::other(format!("short write: {k} of {n} bytes")));
        }
        total += n as u64;
        if n < chunk {
            return Ok(total);
        }
    }
}

/// `fluffle compute FILE --kernel average|entropy|count_pattern|count_lines
/// [--format F]`: computes in userland, from plain reads of FILE, the
/// output the bundled kernel of that name would produce (same bytes, same
/// formats as `fluffle run`): the reference for checks and the baseline of
/// the CSD benchmark. Prints the bytes read from the file on stderr.
pub fn run_compute(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    o.only(&["kernel", "format"])?;
    let [file] = o.rest.as_slice() else {
        return Err("usage: fluffle compute FILE --kernel average|entropy|count_pattern|count_lines [--format FMT]".into());
    };
    let kernel = o.get("kernel").ok_or("--kernel is required")?;
    let mut f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let (out, read) = compute(&mut f, kernel).map_err(|e| format!("{file}: {e}"))?;
    eprintln!("{file}: {read} bytes read");
    let default = match kernel {
        "average" => "average",
        "entropy" => "entropy",
        _ => "u64",
    };
    print_output(&out, o.get("format").unwrap_or(default))
}

/// What kernel `kernel` outputs for the content of `r`, and the bytes read.
pub fn compute(r: &mut impl Read, kernel: &str) -> Result<(Vec<u8>, u64), String> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    let (mut sum, mut count) = (0i64, 0u64);
    let mut carry: Vec<u8> = Vec::new();
    let mut hist = [0u64; 256];
    let mut window = 0u64;
    let mut matches = 0u64;
    let pattern = u64::from_be_bytes([0, b'f', b'l', b'u', b'f', b'f', b'l', b'e']);
    if !matches!(kernel, "average" | "entropy" | "count_pattern" | "count_lines") {
        return Err(format!("no host computation for kernel {kernel}"));
    }
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let data = &buf[..n];
        match kernel {
            "average" => {
                carry.extend_from_slice(data);
                let whole = carry.len() / 4 * 4;
                for c in carry[..whole].chunks_exact(4) {
                    sum += i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64;
                    count += 1;
                }
                carry.drain(..whole);
            }
            "entropy" => data.iter().for_each(|&b| hist[b as usize] += 1),
            "count_pattern" => {
                for (i, &b) in data.iter().enumerate() {
                    window = ((window << 8) | b as u64) & 0x00ff_ffff_ffff_ffff;
                    if window == pattern && total + i as u64 + 1 >= 7 {
                        matches += 1;
                    }
                }
            }
            _ => matches += data.iter().filter(|&&b| b == b'\n').count() as u64,
        }
        total += n as u64;
    }
    let mut out = Vec::new();
    match kernel {
        "average" => {
            let avg = if count == 0 { 0 } else { sum / count as i64 };
            out.extend_from_slice(&sum.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&avg.to_le_bytes());
        }
        "entropy" => {
            hist.iter().for_each(|&c| out.extend_from_slice(&(c as u32).to_le_bytes()));
            out.extend_from_slice(&total.to_le_bytes());
            let q16 = (entropy_of(&hist) * 65536.0).round() as u64;
            out.extend_from_slice(&q16.to_le_bytes());
        }
        _ => out.extend_from_slice(&matches.to_le_bytes()),
    }
    Ok((out, total))
}

/// Bytes asked for per read(): the kernel runs once per read and the glue
/// allocates an output buffer of the request's size, so keep it moderate.
const READ_CHUNK: usize = 1 << 20;

/// Reads until end of file (a read returning 0) or `len` bytes, in reads of
/// at most [`READ_CHUNK`] bytes.
fn read_all(f: &mut impl Read, len: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK.min(len)];
    while out.len() < len {
        let want = (len - out.len()).min(buf.len());
        match f.read(&mut buf[..want])? {
            0 => break,
            k => out.extend_from_slice(&buf[..k]),
        }
    }
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

    /// Records every write() call.
    struct Calls(Vec<usize>);
    impl Write for Calls {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.push(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_one_call_per_chunk() {
        let data = [7u8; 25];
        let mut w = Calls(Vec::new());
        assert_eq!(copy_chunks(&mut &data[..], &mut w, 10).unwrap(), 25);
        assert_eq!(w.0, [10, 10, 5]);
        let mut w = Calls(Vec::new());
        assert_eq!(copy_chunks(&mut &data[..0], &mut w, 10).unwrap(), 0);
        assert!(w.0.is_empty());
    }

    #[test]
    fn host_computations() {
        let ints: Vec<u8> = [-7i32, 2, 2].iter().flat_map(|v| v.to_le_bytes()).chain([9u8]).collect();
        let (out, n) = compute(&mut &ints[..], "average").unwrap();
        assert_eq!(n, 13);
        assert_eq!(format_output(&out, "average").unwrap(), "sum -3\ncount 3\naverage -1\n");
        let text = b"fluffleflufflefluffle\nfluff\nle\n";
        let (out, _) = compute(&mut &text[..], "count_pattern").unwrap();
        assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 3);
        let (out, _) = compute(&mut &text[..], "count_lines").unwrap();
        assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 3);
        let uniform: Vec<u8> = (0..512).map(|i| i as u8).collect();
        let (out, _) = compute(&mut &uniform[..], "entropy").unwrap();
        assert_eq!(out.len(), 1040);
        assert_eq!(u64::from_le_bytes(out[1032..].try_into().unwrap()), 8 << 16);
        assert!(compute(&mut &text[..], "grep").is_err());
        // A pattern straddling the 1 MiB read chunks is found.
        let mut big = vec![b'x'; READ_CHUNK + 10];
        big[READ_CHUNK - 3..READ_CHUNK + 4].copy_from_slice(b"fluffle");
        let (out, _) = compute(&mut &big[..], "count_pattern").unwrap();
        assert_eq!(out, 1u64.to_le_bytes());
    }

    #[test]
    fn reads_until_eof_or_len() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        assert_eq!(read_all(&mut &data[..], usize::MAX).unwrap(), data);
        assert_eq!(read_all(&mut &data[..], 10).unwrap(), data[..10]);
        assert!(read_all(&mut &data[..0], 100).unwrap().is_empty());
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
