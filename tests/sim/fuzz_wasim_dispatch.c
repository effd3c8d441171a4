/* Fuzz target: wasim's stanza dispatch (core and messaging handlers) on one
 * connection whose state the first input byte picks (0: pairing, with a
 * pair-success outstanding when bit 1 is set; otherwise logged in as device 1
 * of an account). The rest is a sequence of [u16be length][transport
 * plaintext] records, each decoded and dispatched like a decrypted frame;
 * the first record the server rejects ends the input, as it would drop the
 * connection. No event loop: sends are queued and freed with the connection. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simcore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sim sim;
static struct sim_core core;
static struct sim_account *acct;

static void setup(void)
{
	sim.priv = &core;
	core.quiet = true;
	core.max_conns = 16;
	if (sim_modules_init(&sim) || sim_state_load(&sim) || sim_account_create(&sim, "15550001111", &acct))
		abort();
	struct sim_account *other = NULL;
	if (sim_account_create(&sim, "15550002222", &other))
		abort();
}

static struct sim_device *device1(void)
{
	struct sim_device *d = sim_device_find(acct, 1);
	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	struct sim_device **nd = realloc(acct->devices, (acct->n_devices + 1) * sizeof(*nd));
	if (!d || !nd)
		abort();
	acct->devices = nd;
	d->acct = acct;
	d->device = 1;
	d->key_index = 1;
	memset(d->identity, 0x11, 32);
	memset(d->noise_pub, 0x22, 32);
	d->regid = 77;
	d->spk_id = 1;
	acct->devices[acct->n_devices++] = d;
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	struct sim_conn *c = sim_conn_new(&sim, NULL);
	uint8_t k1[32] = { 1 }, k2[32] = { 2 };
	if (!c || wa_noise_transport_new(&c->tr, k1, k2))
		abort();
	c->hs_step = 2;
	if (data[0] & 1) {
		struct sim_device *d = device1();
		c->dev = d;
		d->conn = c;
		c->state = SIM_CONN_READY;
	} else {
		c->pair = calloc(1, sizeof(*c->pair));
		if (!c->pair)
			abort();
		c->state = SIM_CONN_PAIRING;
		memset(c->pair->identity, 0x33, 32);
		strcpy(c->pair->refs[0], "2@ref");
		if (data[0] & 2) {
			c->pair->success_sent = true;
			strcpy(c->pair->success_id, "wasim-1");
			c->pair->acct = acct;
			c->pair->device = 9;
			c->pair->key_index = 9;
			c->pair->details = malloc(4);
			if (!c->pair->details)
				abort();
			memcpy(c->pair->details, "\x08\x01\x18\x09", 4);
			c->pair->details_len = 4;
		}
	}
	size_t off = 1;
	while (size - off >= 2 && !c->dead && !c->closing) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		int rc = sim_conn_feed_plaintext(c, data + off, len);
		off += len;
		if (rc < 0)
			break;
	}
	sim_conn_on_closed(c);
	return 0;
}
