// SPDX-License-Identifier: GPL-2.0
/*
 * Static-inline block-layer helpers, made callable from Rust (bindgen only
 * sees real functions). Keep this file to one-line wrappers.
 */
#include <linux/blkdev.h>
#include "shim.h"

bool fluffle_bdev_is_zoned(struct block_device *bdev)
{
	return bdev_is_zoned(bdev);
}

unsigned int fluffle_bdev_nr_zones(struct block_device *bdev)
{
	return bdev_nr_zones(bdev);
}

sector_t fluffle_bdev_zone_sectors(struct block_device *bdev)
{
	return bdev_zone_sectors(bdev);
}
