//! Declarations of the functions in `rust/shim.c`.

use kernel::bindings;

#[allow(improper_ctypes)]
extern "C" {
    /// `bdev_is_zoned()`.
    pub(crate) fn fluffle_bdev_is_zoned(bdev: *mut bindings::block_device) -> bool;
    /// `bdev_nr_zones()`.
    pub(crate) fn fluffle_bdev_nr_zones(bdev: *mut bindings::block_device) -> u32;
    /// `bdev_zone_sectors()`.
    pub(crate) fn fluffle_bdev_zone_sectors(bdev: *mut bindings::block_device) -> u64;
}
