// SPDX-License-Identifier: GPL-2.0
/*
 * A grep-like read-stream filter: reading the file returns only its lines
 * that contain "fluffle" (each with its newline; a last line without one
 * stays without), like `grep fluffle FILE`.
 *
 * Works with any reader (`cat`, reads of any size): the output is a stream
 * whose byte req_offset is where this read starts, so every run scans the
 * file from the start, skips req_offset bytes of output and emits until
 * the request is full (out_cap). Reading a large result in small pieces
 * therefore rescans the file per piece; read it in large pieces.
 *
 * Scratch use: [0, 32 KiB) the chunk being scanned, [32 KiB, 64 KiB) the
 * bytes of a matching line, re-read from the snapshot to emit them (a line
 * may span chunks and be of any length).
 */
#include "count_pattern.h"

#define HALF 32768

/* Emits snapshot bytes [from, to), skipping the first *skip of them;
 * returns 1 once the output is full, 0 to go on, or a negative errno. */
static inline __attribute__((always_inline)) long emit_range(fluffle_u64 from, fluffle_u64 to, fluffle_u64 *skip,
								  fluffle_u64 *room, fluffle_u8 *buf)
{
	fluffle_u64 len = to - from;

	if (*skip >= len) {
		*skip -= len;
		return 0;
	}
	from += *skip;
	*skip = 0;
	while (from < to && *room) {
		fluffle_u64 n = to - from;
		long got;

		if (n > HALF)
			n = HALF;
		if (n > *room)
			n = *room;
		got = csd_read(from, buf, n);
		if (got != (long)n)
			return got < 0 ? got : -5;
		csd_emit(buf, n);
		*room -= n;
		from += n;
	}
	return *room == 0;
}

CSD_KERNEL int grep(const struct fluffle_csd_ctx *ctx)
{
	fluffle_u8 *scratch = csd_scratch();
	fluffle_u64 pattern = CSD_PACK7('f', 'l', 'u', 'f', 'f', 'l', 'e'), len = 7;
	fluffle_u64 mask = (1ULL << (8 * len)) - 1;
	fluffle_u64 size = ctx->size, off = 0, window = 0, line_start = 0;
	fluffle_u64 skip = ctx->req_offset, room = ctx->out_cap;
	int matched = 0;

	if (!scratch || ctx->scratch_size < 2 * HALF)
		return -FLUFFLE_CSD_EINVAL;
	while (off < size && room) {
		fluffle_u64 want = size - off;
		long n, i, r;

		if (want > HALF)
			want = HALF;
		n = csd_read(off, scratch, want);
		if (n != (long)want)
			return n < 0 ? (int)n : -5;
		for (i = 0; i < n; i++) {
			fluffle_u8 c = scratch[i];

			window = ((window << 8) | c) & mask;
			if (window == pattern && off + i + 1 - line_start >= len)
				matched = 1;
			if (c != '\n')
				continue;
			if (matched) {
				r = emit_range(line_start, off + i + 1, &skip, &room, scratch + HALF);
				if (r < 0)
					return r;
				if (r)
					return 0;
			}
			line_start = off + i + 1;
			matched = 0;
			window = 0;
		}
		off += want;
	}
	if (matched && room) {
		long r = emit_range(line_start, size, &skip, &room, scratch + HALF);

		if (r < 0)
			return r;
	}
	return 0;
}
