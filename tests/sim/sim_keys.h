/* wasim: the server's pre-key directory. One sim_keys per device holds what
 * that device uploaded with <iq xmlns="encrypt" type="set"> (registration id,
 * identity, signed pre-key, one-time pre-keys) and hands bundles out to
 * fetchers, consuming one-time keys (messaging.md §2). Pure data: parsing and
 * building nodes only, no I/O; sim_prekeys.c wires it to iqs. */
#ifndef SIM_KEYS_H
#define SIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binary/node.h"

/* One-time keys kept per device: a first upload is 812, top-ups 5 or 50. */
#define SIM_KEYS_MAX_OTK 4096

typedef struct sim_otk {
	uint32_t id;
	uint8_t pub[32];
} sim_otk;

typedef struct sim_keys {
	bool has_bundle;
	bool uploaded; /* set by sim_keys_upload (not by a registration fallback) */
	uint32_t regid;
	uint8_t identity[32];
	uint32_t spk_id;
	uint8_t spk[32];
	uint8_t spk_sig[64];
	sim_otk *otk; /* FIFO: handed out from index 0 */
	size_t n_otk, cap_otk;
} sim_keys;

/* Applies an upload iq (children registration, type, identity, list, skey).
 * Replaces the bundle, appends new one-time keys (same id replaces).
 * WA_EMALFORMED on any missing/short field (nothing changed then),
 * WA_ETOOBIG past SIM_KEYS_MAX_OTK. */
int sim_keys_upload(sim_keys *k, const wa_node *iq) WA_MUST_CHECK;
/* Applies <rotate><skey>..</skey></rotate> (iq's child). */
int sim_keys_rotate(sim_keys *k, const wa_node *rotate) WA_MUST_CHECK;
/* Sets the bundle directly (the simulated phone publishes its own keys). */
void sim_keys_set_bundle(sim_keys *k, uint32_t regid, const uint8_t identity[32], uint32_t spk_id,
	const uint8_t spk[32], const uint8_t sig[64]);
int sim_keys_add_otk(sim_keys *k, uint32_t id, const uint8_t pub[32]) WA_MUST_CHECK;
size_t sim_keys_count(const sim_keys *k);
/* Appends <user jid=jid> with the bundle to parent, consuming the oldest
 * one-time key (none is included when the stock is empty). WA_ENOTFOUND
 * when nothing was uploaded. */
int sim_keys_add_user_node(sim_keys *k, wa_node *parent, const char *jid) WA_MUST_CHECK;
/* Pops the oldest one-time key into *out; false when none is left. */
bool sim_keys_take_otk(sim_keys *k, sim_otk *out);
void sim_keys_clear(sim_keys *k);

/* Node building helpers shared by wasim's messaging files. */
int sim_node_add_bytes(wa_node *parent, const char *tag, const void *p, size_t len) WA_MUST_CHECK;
int sim_node_add_key(wa_node *parent, const char *tag, uint32_t id, const uint8_t pub[32],
	const uint8_t *sig) WA_MUST_CHECK;

#endif
