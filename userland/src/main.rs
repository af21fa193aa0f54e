//! `fluffle`: the FluffleFS command-line tool.

mod blkzoned;
mod cmd_zones;

const USAGE: &str = "usage: fluffle COMMAND [ARGS]
commands:
  zones DEVICE        print the zone report of a zoned block device";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
