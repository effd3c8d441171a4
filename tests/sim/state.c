/* wasim's persistent state: the test root / intermediate / server static
 * keys with the certificate chain built from them, and the accounts with
 * their companion devices. Kept in memory; written as one JSON file
 * (<state>/wasim.json, replaced atomically) after every change, so a
 * restarted wasim keeps its accounts, devices and trust root. Test keys
 * only: the file holds private keys in hex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simcore.h"
#include "noise/cert.h"
#include "util/codec.h"
#include "util/seams.h"

uint32_t sim_rand_u32(void)
{
	uint32_t v;
	wa_rand_bytes(&v, sizeof(v));
	return v;
}

/* ---- JSON helpers ---- */

static int put_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *h = wa_hex_encode(p, n);
	if (!h)
		return WA_ENOMEM;
	int rc = json_object_set_new(o, k, json_string(h)) ? WA_ENOMEM : 0;
	free(h);
	return rc;
}

static int get_hex(const json_t *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s)
		return WA_ENOTFOUND;
	uint8_t *b = NULL;
	size_t bl = 0;
	if (wa_hex_decode(s, strlen(s), &b, &bl))
		return WA_EMALFORMED;
	int rc = bl == n ? 0 : WA_EMALFORMED;
	if (!rc)
		memcpy(out, b, n);
	free(b);
	return rc;
}

static uint32_t get_u32(const json_t *o, const char *k)
{
	return (uint32_t)json_integer_value(json_object_get(o, k));
}

static void get_str(const json_t *o, const char *k, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));
	snprintf(out, cap, "%s", s ? s : "");
}

/* ---- accounts ---- */

struct sim_account *sim_account_at(struct sim *sim, size_t i)
{
	struct sim_core *core = sim_core(sim);
	return i < core->n_accounts ? core->accounts[i] : NULL;
}

struct sim_account *sim_account_find(struct sim *sim, const char *phone)
{
	struct sim_core *core = sim_core(sim);
	for (size_t i = 0; i < core->n_accounts; i++)
		if (!strcmp(core->accounts[i]->phone, phone))
			return core->accounts[i];
	return NULL;
}

struct sim_account *sim_account_find_lid(struct sim *sim, const char *lid)
{
	struct sim_core *core = sim_core(sim);
	for (size_t i = 0; i < core->n_accounts; i++)
		if (!strcmp(core->accounts[i]->lid, lid))
			return core->accounts[i];
	return NULL;
}

struct sim_device *sim_device_find(struct sim_account *a, uint32_t device)
{
	for (size_t i = 0; i < a->n_devices; i++)
		if (a->devices[i]->device == device)
			return a->devices[i];
	return NULL;
}

void sim_device_pn_jid(const struct sim_account *a, uint32_t dev, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%u@s.whatsapp.net", a->phone, dev);
}

void sim_device_lid_jid(const struct sim_account *a, uint32_t dev, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%u@lid", a->lid, dev);
}

static bool valid_phone(const char *p)
{
	size_t n = strlen(p);
	if (n < 5 || n > SIM_MAX_PHONE || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

static int account_append(struct sim *sim, struct sim_account *a)
{
	struct sim_core *core = sim_core(sim);
	if (core->n_accounts == core->cap_accounts) {
		size_t nc = core->cap_accounts ? core->cap_accounts * 2 : 16;
		struct sim_account **na = realloc(core->accounts, nc * sizeof(*na));
		if (!na)
			return WA_ENOMEM;
		core->accounts = na;
		core->cap_accounts = nc;
	}
	core->accounts[core->n_accounts++] = a;
	return 0;
}

static void make_spk(struct sim_account *a)
{
	uint8_t msg[33];
	wa_keypair_generate(&a->spk);
	msg[0] = 0x05;
	memcpy(msg + 1, a->spk.pub, 32);
	if (wa_xeddsa_sign(a->spk_sig, a->identity.priv, msg, sizeof(msg)))
		memset(a->spk_sig, 0, sizeof(a->spk_sig));
}

int sim_account_create(struct sim *sim, const char *phone, struct sim_account **out)
{
	if (!valid_phone(phone))
		return WA_EINVAL;
	if (sim_account_find(sim, phone))
		return WA_EEXIST;
	struct sim_account *a = calloc(1, sizeof(*a));
	if (!a)
		return WA_ENOMEM;
	snprintf(a->phone, sizeof(a->phone), "%s", phone);
	/* A 15-digit LID user that no other account has. */
	do {
		uint64_t r;
		wa_rand_bytes(&r, sizeof(r));
		snprintf(a->lid, sizeof(a->lid), "%llu",
			100000000000000ull + (unsigned long long)(r % 899999999999999ull));
	} while (sim_account_find_lid(sim, a->lid));
	wa_keypair_generate(&a->identity);
	a->adv_raw_id = sim_rand_u32();
	a->next_key_index = 1;
	a->next_device = 1;
	a->regid = (sim_rand_u32() % 16380) + 1;
	a->spk_id = 1;
	make_spk(a);
	int rc = account_append(sim, a);
	if (rc) {
		free(a);
		return rc;
	}
	if (sim->hooks.account_created) {
		rc = sim->hooks.account_created(sim, a, sim->hooks.user);
		if (rc)
			sim_logf(sim, "account_created hook failed: %s", wa_errname(rc));
	}
	*out = a;
	return sim_save(sim);
}

int sim_account_rekey(struct sim *sim, struct sim_account *a)
{
	while (a->n_devices)
		sim_device_remove(sim, a->devices[a->n_devices - 1]);
	wa_keypair_clear(&a->identity);
	wa_keypair_generate(&a->identity);
	a->adv_raw_id = sim_rand_u32();
	a->regid = (sim_rand_u32() % 16380) + 1;
	a->spk_id++;
	make_spk(a);
	return sim_save(sim);
}

static void device_free(struct sim_device *d)
{
	if (!d)
		return;
	free(d->signed_identity);
	free(d);
}

void sim_device_remove(struct sim *sim, struct sim_device *d)
{
	struct sim_account *a = d->acct;
	if (d->conn) {
		struct sim_conn *c = d->conn;
		sim_conn_stream_error(c, 401);
		if (sim->hooks.conn_closed)
			sim->hooks.conn_closed(sim, c, sim->hooks.user);
		c->dev = NULL;
		d->conn = NULL;
	}
	/* any other connection still pointing at d (closing ones) */
	for (struct sim_conn *c = sim_core(sim)->conns; c; c = c->next)
		if (c->dev == d)
			c->dev = NULL;
	if (sim->hooks.device_removed)
		sim->hooks.device_removed(sim, d, sim->hooks.user);
	for (size_t i = 0; i < a->n_devices; i++)
		if (a->devices[i] == d) {
			memmove(&a->devices[i], &a->devices[i + 1],
				(a->n_devices - i - 1) * sizeof(a->devices[0]));
			a->n_devices--;
			break;
		}
	device_free(d);
	(void)sim_save(sim);
}

/* ---- persistence ---- */

static json_t *device_to_json(struct sim *sim, const struct sim_device *d)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = 0;
	rc |= json_object_set_new(o, "device", json_integer(d->device));
	rc |= json_object_set_new(o, "key_index", json_integer(d->key_index));
	rc |= put_hex(o, "noise_pub", d->noise_pub, 32);
	rc |= put_hex(o, "identity", d->identity, 32);
	rc |= json_object_set_new(o, "regid", json_integer(d->regid));
	rc |= json_object_set_new(o, "spk_id", json_integer(d->spk_id));
	rc |= put_hex(o, "spk_pub", d->spk_pub, 32);
	rc |= put_hex(o, "spk_sig", d->spk_sig, 64);
	if (d->signed_identity)
		rc |= put_hex(o, "signed_identity", d->signed_identity, d->signed_identity_len);
	rc |= json_object_set_new(o, "platform", json_string(d->platform));
	rc |= json_object_set_new(o, "full_sync", json_boolean(d->full_sync));
	rc |= json_object_set_new(o, "paired_at", json_integer(d->paired_at));
	if (!rc && sim->hooks.device_save)
		rc = sim->hooks.device_save(sim, d, o, sim->hooks.user);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *account_to_json(struct sim *sim, const struct sim_account *a)
{
	json_t *o = json_object();
	json_t *devs = json_array();
	if (!o || !devs) {
		json_decref(o);
		json_decref(devs);
		return NULL;
	}
	int rc = 0;
	rc |= json_object_set_new(o, "phone", json_string(a->phone));
	rc |= json_object_set_new(o, "lid", json_string(a->lid));
	rc |= json_object_set_new(o, "push_name", json_string(a->push_name));
	rc |= put_hex(o, "identity_priv", a->identity.priv, 32);
	rc |= json_object_set_new(o, "adv_raw_id", json_integer(a->adv_raw_id));
	rc |= json_object_set_new(o, "next_key_index", json_integer(a->next_key_index));
	rc |= json_object_set_new(o, "next_device", json_integer(a->next_device));
	rc |= json_object_set_new(o, "regid", json_integer(a->regid));
	rc |= json_object_set_new(o, "spk_id", json_integer(a->spk_id));
	rc |= put_hex(o, "spk_priv", a->spk.priv, 32);
	rc |= put_hex(o, "spk_sig", a->spk_sig, 64);
	for (size_t i = 0; i < a->n_devices && !rc; i++) {
		json_t *d = device_to_json(sim, a->devices[i]);
		rc |= d ? json_array_append_new(devs, d) : WA_ENOMEM;
	}
	rc |= json_object_set_new(o, "devices", devs);
	if (!rc && sim->hooks.account_save)
		rc = sim->hooks.account_save(sim, a, o, sim->hooks.user);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int sim_save(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	if (!sim->state_dir)
		return 0;
	json_t *root = json_object();
	json_t *accts = json_array();
	int rc = (!root || !accts) ? WA_ENOMEM : 0;
	if (!rc) {
		rc |= put_hex(root, "root_priv", core->root.priv, 32);
		rc |= put_hex(root, "intermediate_priv", core->inter.priv, 32);
		rc |= put_hex(root, "static_priv", core->server_static.priv, 32);
		for (size_t i = 0; i < core->n_accounts && !rc; i++) {
			json_t *a = account_to_json(sim, core->accounts[i]);
			rc |= a ? json_array_append_new(accts, a) : WA_ENOMEM;
		}
		rc |= json_object_set_new(root, "accounts", accts);
		accts = NULL;
	}
	if (!rc) {
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s.tmp", core->state_path);
		if (json_dump_file(root, tmp, JSON_INDENT(1)) || rename(tmp, core->state_path))
			rc = WA_EIO;
	}
	json_decref(accts);
	json_decref(root);
	if (rc)
		sim_logf(sim, "saving state failed: %s", wa_errname(rc));
	return rc;
}

static int device_from_json(struct sim *sim, struct sim_account *a, const json_t *o)
{
	struct sim_device *d = calloc(1, sizeof(*d));
	if (!d)
		return WA_ENOMEM;
	d->acct = a;
	d->device = get_u32(o, "device");
	d->key_index = get_u32(o, "key_index");
	d->regid = get_u32(o, "regid");
	d->spk_id = get_u32(o, "spk_id");
	d->paired_at = json_integer_value(json_object_get(o, "paired_at"));
	get_str(o, "platform", d->platform, sizeof(d->platform));
	d->full_sync = json_is_true(json_object_get(o, "full_sync"));
	int rc = get_hex(o, "noise_pub", d->noise_pub, 32);
	if (!rc)
		rc = get_hex(o, "identity", d->identity, 32);
	if (!rc)
		rc = get_hex(o, "spk_pub", d->spk_pub, 32);
	if (!rc)
		rc = get_hex(o, "spk_sig", d->spk_sig, 64);
	const char *si = json_string_value(json_object_get(o, "signed_identity"));
	if (!rc && si && wa_hex_decode(si, strlen(si), &d->signed_identity, &d->signed_identity_len))
		rc = WA_EMALFORMED;
	struct sim_device **nd = NULL;
	if (!rc) {
		nd = realloc(a->devices, (a->n_devices + 1) * sizeof(*nd));
		if (!nd)
			rc = WA_ENOMEM;
	}
	if (rc) {
		device_free(d);
		return rc;
	}
	a->devices = nd;
	a->devices[a->n_devices++] = d;
	if (sim->hooks.device_load)
		return sim->hooks.device_load(sim, d, o, sim->hooks.user);
	return 0;
}

static int account_from_json(struct sim *sim, const json_t *o)
{
	struct sim_account *a = calloc(1, sizeof(*a));
	if (!a)
		return WA_ENOMEM;
	get_str(o, "phone", a->phone, sizeof(a->phone));
	get_str(o, "lid", a->lid, sizeof(a->lid));
	get_str(o, "push_name", a->push_name, sizeof(a->push_name));
	uint8_t priv[32];
	int rc = get_hex(o, "identity_priv", priv, 32);
	if (!rc) {
		wa_keypair_from_private(&a->identity, priv);
		rc = get_hex(o, "spk_priv", priv, 32);
	}
	if (!rc) {
		wa_keypair_from_private(&a->spk, priv);
		rc = get_hex(o, "spk_sig", a->spk_sig, 64);
	}
	wa_memzero(priv, sizeof(priv));
	a->adv_raw_id = get_u32(o, "adv_raw_id");
	a->next_key_index = get_u32(o, "next_key_index");
	a->next_device = get_u32(o, "next_device");
	a->regid = get_u32(o, "regid");
	a->spk_id = get_u32(o, "spk_id");
	if (!rc && !valid_phone(a->phone))
		rc = WA_EMALFORMED;
	if (rc || (rc = account_append(sim, a))) {
		free(a);
		return rc;
	}
	const json_t *devs = json_object_get(o, "devices");
	size_t i;
	const json_t *d;
	json_array_foreach(devs, i, d) {
		rc = device_from_json(sim, a, d);
		if (rc)
			return rc;
	}
	if (sim->hooks.account_load)
		return sim->hooks.account_load(sim, a, o, sim->hooks.user);
	return 0;
}

static int build_chain(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	int64_t now = sim_now();
	wa_noise_cert_spec inter = {
		.serial = 1, .issuer_serial = 0,
		.not_before = (uint64_t)(now - 86400), .not_after = (uint64_t)(now + 10 * 365 * 86400),
	};
	memcpy(inter.key, core->inter.pub, 32);
	wa_noise_cert_spec leaf = inter;
	leaf.serial = 2;
	leaf.issuer_serial = 1;
	memcpy(leaf.key, core->server_static.pub, 32);
	free(core->cert_chain);
	core->cert_chain = NULL;
	return wa_noise_cert_chain_build(&core->cert_chain, &core->cert_chain_len, core->root.priv,
		&inter, core->inter.priv, &leaf);
}

int sim_state_load(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	json_t *root = NULL;
	int rc = 0;
	if (sim->state_dir) {
		snprintf(core->state_path, sizeof(core->state_path), "%s/wasim.json", sim->state_dir);
		if (access(core->state_path, F_OK) == 0) {
			json_error_t err;
			root = json_load_file(core->state_path, 0, &err);
			if (!root) {
				sim_logf(sim, "state file %s: %s", core->state_path, err.text);
				return WA_EMALFORMED;
			}
		}
	}
	uint8_t priv[32];
	if (root && !get_hex(root, "root_priv", priv, 32)) {
		wa_keypair_from_private(&core->root, priv);
		rc = get_hex(root, "intermediate_priv", priv, 32);
		if (!rc)
			wa_keypair_from_private(&core->inter, priv);
		if (!rc)
			rc = get_hex(root, "static_priv", priv, 32);
		if (!rc)
			wa_keypair_from_private(&core->server_static, priv);
	} else {
		wa_keypair_generate(&core->root);
		wa_keypair_generate(&core->inter);
		wa_keypair_generate(&core->server_static);
	}
	wa_memzero(priv, sizeof(priv));
	memcpy(sim->root_pub, core->root.pub, 32);
	if (!rc)
		rc = build_chain(sim);
	if (!rc && root) {
		size_t i;
		const json_t *a;
		json_array_foreach(json_object_get(root, "accounts"), i, a) {
			rc = account_from_json(sim, a);
			if (rc)
				break;
		}
	}
	json_decref(root);
	if (!rc)
		rc = sim_save(sim);
	return rc;
}

void sim_state_free(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	for (size_t i = 0; i < core->n_accounts; i++) {
		struct sim_account *a = core->accounts[i];
		for (size_t j = 0; j < a->n_devices; j++) {
			if (sim->hooks.device_removed)
				sim->hooks.device_removed(sim, a->devices[j], sim->hooks.user);
			device_free(a->devices[j]);
		}
		free(a->devices);
		wa_keypair_clear(&a->identity);
		wa_keypair_clear(&a->spk);
		free(a);
	}
	free(core->accounts);
	core->accounts = NULL;
	core->n_accounts = 0;
	free(core->cert_chain);
	core->cert_chain = NULL;
}
