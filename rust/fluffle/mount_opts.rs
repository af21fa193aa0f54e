//! Mount options: FluffleFS has none of its own yet. `ro`, `rw`,
//! `noatime`, `relatime`, `sync`, ... are the VFS's (mount(8) turns them
//! into mount flags; /proc/mounts shows them), so whatever reaches the
//! filesystem as its option string is unknown and the mount is refused
//! (a typo such as `-o noatim` or an option meant for another filesystem
//! mounted silently before).

/// The first option in a comma-separated option string, if any: every
/// option is unknown to FluffleFS. Empty items (`a,,b`, a trailing comma)
/// are not options.
pub fn first_unknown(opts: &[u8]) -> Option<&[u8]> {
    opts.split(|&b| b == b',').find(|o| !o.is_empty())
}

#[cfg(test)]
mod tests {
    use super::first_unknown;

    #[test]
    fn every_option_is_unknown_and_empty_strings_are_fine() {
        assert_eq!(first_unknown(b""), None);
        assert_eq!(first_unknown(b",,"), None);
        assert_eq!(first_unknown(b"bogus"), Some(&b"bogus"[..]));
        assert_eq!(first_unknown(b",x=1,y"), Some(&b"x=1"[..]));
    }
}
