//! `fluffle`: the FluffleFS command-line tool.

mod blkzoned;
mod cmd_zones;

const USAGE: &str = "usage: fluffle COMMAND [ARGS]
commands:
  zones DEVICE        print the zone report of a zoned block device";

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
