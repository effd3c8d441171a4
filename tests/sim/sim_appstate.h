/* wasim's app-state server and the phone's side of it (sim_appstate.c). */
#ifndef WASIM_SIM_APPSTATE_H
#define WASIM_SIM_APPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

int sim_appstate_init(struct sim *sim) WA_MUST_CHECK;
/* The phone shares the account's sync key with companion dev
 * (appStateSyncKeyShare over Signal). */
void sim_appstate_share_key(struct sim *sim, struct sim_account *a, uint32_t dev);
void sim_appstate_shutdown(void);
/* The phone got companion dev's appStateSyncKeyRequest: it shares its keys. */
void sim_appstate_key_request(struct sim *sim, struct sim_account *a, uint32_t dev);
/* sim_phone.c: a peer message (protocol message pt) from the phone to one
 * companion; id_out receives its id */
int sim_phone_send_peer(struct sim *sim, struct sim_account *a, uint32_t dev, const uint8_t *pt, size_t pt_len,
	char *id_out, size_t id_cap) WA_MUST_CHECK;

#endif
