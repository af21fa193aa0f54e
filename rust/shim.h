/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shim of the FluffleFS module: static-inline kernel helpers exported as
 * real functions so the Rust side can call them. Nothing else lives here.
 */
#ifndef FLUFFLEFS_SHIM_H
#define FLUFFLEFS_SHIM_H

#include <linux/types.h>

struct block_device;

bool fluffle_bdev_is_zoned(struct block_device *bdev);
unsigned int fluffle_bdev_nr_zones(struct block_device *bdev);
sector_t fluffle_bdev_zone_sectors(struct block_device *bdev);

#endif /* FLUFFLEFS_SHIM_H */
