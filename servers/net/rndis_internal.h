/* SPDX-License-Identifier: MIT */
/*
 * Shared by rndis_ctl.c (control messages), rndis_oid.c (the OID table) and rndis_data.c
 * (data packets): little-endian access to byte buffers and the OID answers.
 */
#ifndef MHCL_NET_RNDIS_INTERNAL_H
#define MHCL_NET_RNDIS_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "rndis.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "wire structs are copied as is");

static inline uint32_t rndis__get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void rndis__put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The room for a QUERY answer's information buffer inside RNDIS_MAX_RESPONSE. */
#define RNDIS__QUERY_INFO_MAX                                                                      \
	(RNDIS_MAX_RESPONSE - RNDIS_HEADER_SIZE - (uint32_t)sizeof(struct rndis_query_cmplt))

/*
 * Answers a QUERY: writes the information into info[RNDIS__QUERY_INFO_MAX], sets *len and
 * returns the RNDIS status. *note names a refusal.
 */
uint32_t rndis__query(const struct rndis_config *cfg, const struct rndis_state *st,
		      const struct rndis_ctl *c, uint8_t *info, uint32_t *len, const char **note);

/* Answers a SET, updating st; returns the RNDIS status. *note names what changed or why
 * it was refused. */
uint32_t rndis__set(const struct rndis_config *cfg, struct rndis_state *st,
		    const struct rndis_ctl *c, const char **note);

#endif
