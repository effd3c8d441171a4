/* A self-signed certificate for wasim's wss:// / https:// vhost, made once
 * with OpenSSL (EC P-256, CN and SAN 127.0.0.1 / localhost, 10 years) and
 * kept in the state directory. Clients connect with certificate checks off
 * (Baileys harness: an https agent with rejectUnauthorized: false). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "simcore.h"

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

static int make_cert(const char *cert_path, const char *key_path)
{
	int rc = WA_ECRYPTO;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = NULL;
	if (!pkey || !x)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
	X509_set_version(x, 2);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"))
		goto out;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto out;
	rc = WA_EIO;
	f = fopen(key_path, "w");
	if (!f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL))
		goto out;
	fclose(f);
	f = fopen(cert_path, "w");
	if (!f || !PEM_write_X509(f, x))
		goto out;
	rc = 0;
out:
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

int sim_tls_ensure_cert(const char *dir, char *cert_path, size_t cert_cap, char *key_path,
	size_t key_cap)
{
	snprintf(cert_path, cert_cap, "%s/wasim-cert.pem", dir);
	snprintf(key_path, key_cap, "%s/wasim-key.pem", dir);
	if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
		return 0;
	return make_cert(cert_path, key_path);
}
