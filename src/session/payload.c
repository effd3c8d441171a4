/* src/session/payload.c: the ClientPayload sent inside the Noise
 * ClientFinish (transport-and-pairing.md §4): a registration payload with
 * DevicePairingRegistrationData while unpaired, a login payload
 * (username, device, passive, pull) once paired. Field values follow
 * Baileys 7.0.0-rc14 (Utils/validate-connection.js) so the server sees a
 * familiar web client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_payload.pb-c.h"
#include "device_props.pb-c.h"
#include "binary/jid.h"
#include "crypto/crypto.h"
#include "session/internal.h"
#include "session/payload.h"

/* The web client version we claim, and MD5("2.3000.1043857760") — the
 * buildHash of §4.2 (value from transport-and-pairing.md; a unit test
 * recomputes it). Baileys 7.0.0-rc14 Defaults/baileys-version.json. */
const uint32_t wa_session_app_version[3] = {2, 3000, 1043857760};
const uint8_t wa_session_build_hash[16] = {
	0xf6, 0xf6, 0x5c, 0x06, 0x07, 0xa1, 0xcd, 0xff,
	0xd8, 0x75, 0x2b, 0x05, 0x1f, 0xc9, 0x5e, 0xdf,
};

int wa_version_parse(const char *s, uint32_t out[3])
{
	uint32_t v[3];
	const char *p = s;
	if (!p)
		return WA_EINVAL;
	for (int i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return WA_EINVAL;
		uint64_t x = 0;
		while (*p >= '0' && *p <= '9') {
			x = x * 10 + (uint64_t)(*p++ - '0');
			if (x > UINT32_MAX)
				return WA_EINVAL;
		}
		v[i] = (uint32_t)x;
		if (i < 2 && *p++ != '.')
			return WA_EINVAL;
	}
	if (*p)
		return WA_EINVAL;
	memcpy(out, v, sizeof v);
	return 0;
}

int wa_version_check(const char *version)
{
	uint32_t v[3];
	return !version || !version[0] ? 0 : wa_version_parse(version, v);
}

const char *wa_version_default(void)
{
	return "2.3000.1043857760";
}

static void be(uint8_t *out, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int wa_session_parse_own_jid(const char *jid, uint64_t *user, uint32_t *device)
{
	wa_jid j;
	int rc = wa_jid_parse(&j, jid);
	if (rc)
		return rc;
	if (j.user[0] == '\0' || strlen(j.user) > 19)
		return WA_EMALFORMED;
	uint64_t u = 0;
	for (const char *p = j.user; *p; p++) {
		if (*p < '0' || *p > '9')
			return WA_EMALFORMED;
		u = u * 10 + (uint64_t)(*p - '0');
	}
	*user = u;
	*device = j.device;
	return 0;
}

int wa_payload_build(const wa_payload_params *pp, uint8_t **out, size_t *out_len)
{
	Wa__ClientPayload cp = WA__CLIENT_PAYLOAD__INIT;
	Wa__ClientPayload__UserAgent ua = WA__CLIENT_PAYLOAD__USER_AGENT__INIT;
	Wa__ClientPayload__UserAgent__AppVersion av = WA__CLIENT_PAYLOAD__USER_AGENT__APP_VERSION__INIT;
	Wa__ClientPayload__WebInfo wi = WA__CLIENT_PAYLOAD__WEB_INFO__INIT;
	Wa__ClientPayload__DevicePairingRegistrationData reg =
		WA__CLIENT_PAYLOAD__DEVICE_PAIRING_REGISTRATION_DATA__INIT;
	Wa__DeviceProps dp = WA__DEVICE_PROPS__INIT;
	Wa__DeviceProps__AppVersion dpv = WA__DEVICE_PROPS__APP_VERSION__INIT;
	Wa__DeviceProps__HistorySyncConfig hs = WA__DEVICE_PROPS__HISTORY_SYNC_CONFIG__INIT;
	uint8_t *props = NULL;
	uint8_t custom_hash[16]; /* packed below: lives as long as cp */
	int rc = 0;

	av.has_primary = av.has_secondary = av.has_tertiary = 1;
	const uint32_t *ver = pp->version ? pp->version : wa_session_app_version;
	av.primary = ver[0];
	av.secondary = ver[1];
	av.tertiary = ver[2];
	ua.has_platform = 1;
	ua.platform = WA__CLIENT_PAYLOAD__USER_AGENT__PLATFORM__WEB;
	ua.app_version = &av;
	ua.mcc = (char *)"000";
	ua.mnc = (char *)"000";
	ua.os_version = (char *)"0.1";
	ua.device = (char *)"Desktop";
	ua.os_build_number = (char *)"0.1";
	ua.has_release_channel = 1;
	ua.release_channel = WA__CLIENT_PAYLOAD__USER_AGENT__RELEASE_CHANNEL__RELEASE;
	ua.locale_language_iso6391 = (char *)"en";
	ua.locale_country_iso31661_alpha2 = (char *)"US";
	wi.has_web_sub_platform = 1;
	wi.web_sub_platform = WA__CLIENT_PAYLOAD__WEB_INFO__WEB_SUB_PLATFORM__WEB_BROWSER;
	cp.user_agent = &ua;
	cp.web_info = &wi;
	cp.has_connect_type = 1;
	cp.connect_type = WA__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	cp.has_connect_reason = 1;
	cp.connect_reason = WA__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	if (pp->push_name && pp->push_name[0])
		cp.push_name = (char *)pp->push_name;
	cp.has_passive = cp.has_pull = 1;

	uint8_t regid[4], skey_id[3], keytype[1] = {0x05};
	if (pp->login) {
		/* §4.1 login: username + device, passive and pull true (Baileys 7) */
		cp.has_username = 1;
		cp.username = pp->username;
		cp.has_device = 1;
		cp.device = pp->device;
		cp.passive = 1;
		cp.pull = 1;
		cp.has_lid_db_migrated = 1;
		cp.lid_db_migrated = 0;
	} else {
		const wa_store_creds *c = pp->creds;
		cp.passive = 0;
		cp.pull = 0;
		dp.os = (char *)(pp->device_name ? pp->device_name : "wamd");
		dpv.has_primary = dpv.has_secondary = dpv.has_tertiary = 1;
		dpv.primary = 0;
		dpv.secondary = 1;
		dpv.tertiary = 0;
		dp.version = &dpv;
		dp.has_platform_type = 1;
		dp.platform_type = WA__DEVICE_PROPS__PLATFORM_TYPE__CHROME; /* QR platform "1" */
		dp.has_require_full_sync = 1;
		dp.require_full_sync = pp->full_sync;
		hs.has_storage_quota_mb = 1;
		hs.storage_quota_mb = 10240;
		if (pp->full_sync) {
			/* whatsmeow's documented full-sync request: ten years, 100 GB */
			hs.has_full_sync_days_limit = hs.has_full_sync_size_mb_limit = 1;
			hs.full_sync_days_limit = 3650;
			hs.full_sync_size_mb_limit = 102400;
			hs.storage_quota_mb = 102400;
		}
		hs.has_inline_initial_payload_in_e2ee_msg = 1;
		hs.inline_initial_payload_in_e2ee_msg = 1;
		hs.has_support_call_log_history = 1;
		hs.support_call_log_history = 0;
		dp.history_sync_config = &hs;
		size_t plen = wa__device_props__get_packed_size(&dp);
		props = malloc(plen ? plen : 1);
		if (!props)
			return WA_ENOMEM;
		wa__device_props__pack(&dp, props);

		be(regid, c->registration_id, 4);
		be(skey_id, c->signed_prekey_id, 3);
		reg.has_e_regid = reg.has_e_keytype = reg.has_e_ident = reg.has_e_skey_id = 1;
		reg.has_e_skey_val = reg.has_e_skey_sig = reg.has_build_hash = reg.has_device_props = 1;
		reg.e_regid = (ProtobufCBinaryData){4, regid};
		reg.e_keytype = (ProtobufCBinaryData){1, keytype};
		reg.e_ident = (ProtobufCBinaryData){32, (uint8_t *)c->identity_pub};
		reg.e_skey_id = (ProtobufCBinaryData){3, skey_id};
		reg.e_skey_val = (ProtobufCBinaryData){32, (uint8_t *)c->signed_prekey_pub};
		reg.e_skey_sig = (ProtobufCBinaryData){64, (uint8_t *)c->signed_prekey_sig};
		/* buildHash is MD5 of the claimed version's text */
		const uint8_t *hash = wa_session_build_hash;
		if (pp->version && memcmp(pp->version, wa_session_app_version, sizeof wa_session_app_version)) {
			char vs[40];
			snprintf(vs, sizeof vs, "%u.%u.%u", ver[0], ver[1], ver[2]);
			rc = wa_md5(custom_hash, vs, strlen(vs));
			if (rc)
				goto done;
			hash = custom_hash;
		}
		reg.build_hash = (ProtobufCBinaryData){16, (uint8_t *)hash};
		reg.device_props = (ProtobufCBinaryData){plen, props};
		cp.device_pairing_data = &reg;
	}
	size_t len = wa__client_payload__get_packed_size(&cp);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		rc = WA_ENOMEM;
		goto done;
	}
	wa__client_payload__pack(&cp, buf);
	*out = buf;
	*out_len = len;
done:
	free(props);
	return rc;
}

int wa_session_build_client_payload(const wa_session *s, uint8_t **out, size_t *out_len)
{
	wa_payload_params pp = {
		.creds = s->creds,
		.device_name = s->device_name,
		.push_name = s->push_name ? s->push_name : s->creds->push_name,
		.version = s->version,
		.full_sync = s->sync_full_history,
	};
	if (wa_creds_paired(s->creds)) {
		int rc = wa_session_parse_own_jid(s->creds->me_jid, &pp.username, &pp.device);
		if (rc)
			return rc;
		pp.login = true;
	}
	return wa_payload_build(&pp, out, out_len);
}
