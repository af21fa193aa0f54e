//! `fluffle`: the FluffleFS command-line tool.

mod blkzoned;
mod cmd_attach;
mod cmd_dump;
mod cmd_fsck;
mod cmd_load;
mod cmd_mkfs;
mod cmd_run;
mod cmd_zones;
mod image_dev;
mod target_dev;
mod zoned_blockdev;

const USAGE: &str = "usage: fluffle COMMAND [ARGS]
commands:
  mkfs DEV|IMAGE      create a FluffleFS (also as mkfs.flufflefs / mkfs -t flufflefs)
                      [-L LABEL] (volume label, at most 255 bytes)
  fsck DEV|IMAGE      check a FluffleFS read-only; exit 4 on damage (also fsck.flufflefs)
  dump DEV|IMAGE      print zones, space and the inode tree
                      (IMAGE: a zoned image file; mkfs makes one with
                      --zones N --zone-size MiB --zone-cap MiB)
  zones DEVICE        print the zone report of a zoned block device
  load PROG.o         load a CSD kernel (clang -target bpf object), print its id
                      [--mount DIR] [--function NAME] [--section NAME]
  unload ID           unload a CSD kernel [--mount DIR]
  attach FILE --read ID | --write ID
                      attach a kernel to FILE for this process (xattr)
  exec ID FILE        run a loaded kernel over FILE with the run ioctl
                      [--offset N] [--len N] [--out-len N] [--format FMT]
  run PROG.o FILE     load, attach, read FILE, print the kernel's output, unload
                      [--format hex|raw|u64|i64|average|histogram|entropy] [--len N]
  write PROG.o FILE   copy stdin to FILE through a write-stream kernel
                      [--chunk N] [--append yes]
  compute FILE --kernel average|entropy|count_pattern|count_lines
                      compute a bundled kernel's result in userland (reference)";

/// `mkfs -t flufflefs` and `fsck -t flufflefs` run `mkfs.flufflefs` and
/// `fsck.flufflefs`: links to this binary that name the subcommand.
fn args_with_command() -> Vec<String> {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().map(|a| a.rsplit('/').next().unwrap_or(a).to_string()).unwrap_or_default();
    match argv0.strip_suffix(".flufflefs") {
        Some(cmd @ ("mkfs" | "fsck")) => args[0] = cmd.to_string(),
        _ => {
            args.remove(0);
        }
    }
    args
}

fn main() {
    let args = args_with_command();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let result = match cmd.as_str() {
        "zones" => cmd_zones::run(rest),
        "mkfs" => cmd_mkfs::run(rest),
        "fsck" => cmd_fsck::run(rest),
        "dump" => cmd_dump::run(rest),
        "load" => cmd_load::run_load(rest),
        "unload" => cmd_load::run_unload(rest),
        "exec" => cmd_load::run_exec(rest),
        "attach" => cmd_attach::run(rest),
        "run" => cmd_run::run(rest),
        "write" => cmd_run::run_write(rest),
        "compute" => cmd_run::run_compute(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    };
    if let Err(msg) = result {
        eprintln!("fluffle: {msg}");
        std::process::exit(1);
    }
}
