//! FluffleFS eBPF verifier and interpreter (RFC 9669), no_std.
//!
//! Compiled by cargo as the `ebpf` crate and by Kbuild as `mod ebpf` of the
//! kernel module (`--cfg MODULE`): `core` only, relative paths, no panics.
#![cfg_attr(not(MODULE), no_std)]
