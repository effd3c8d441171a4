/* Which protobuf-c does this process run? libsignal-protocol-c bundles and
 * exports its own protobuf-c 1.1.1 (same symbol names), so if it precedes the
 * system libprotobuf-c in the executable's DT_NEEDED order, every
 * protobuf_c_* call of ours (generated proto/ code included) silently binds to
 * the old copy. This test links both, keeps libsignal loaded, and checks that
 * the symbols the dynamic linker resolves come from the system library. */
#include <dlfcn.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <signal_protocol.h>

#include "check.h"
#include "handshake.pb-c.h"

/* Name of the shared object that global symbol lookup gives for `name`. */
static const char *provider(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);
	Dl_info info;
	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "(unresolved)";
	return info.dli_fname;
}

static const char *provider_of(const void *addr)
{
	Dl_info info;
	if (!dladdr(addr, &info) || !info.dli_fname)
		return "(unresolved)";
	return info.dli_fname;
}

int main(void)
{
	/* Keep libsignal-protocol-c a real dependency under --as-needed. */
	signal_context *ctx = NULL;
	CHECK_EQ_INT(signal_context_create(&ctx, NULL), 0);
	CHECK(ctx != NULL);
	signal_context_destroy(ctx);
	CHECK(strstr(provider("signal_context_create"), "libsignal-protocol-c") != NULL);

	/* The runtime is the version we compiled against. */
	CHECK_EQ_STR(protobuf_c_version(), PROTOBUF_C_VERSION);
	CHECK_EQ_INT(protobuf_c_version_number(), PROTOBUF_C_VERSION_NUMBER);

	static const char *const syms[] = {
		"protobuf_c_message_unpack", "protobuf_c_message_pack",
		"protobuf_c_message_get_packed_size", "protobuf_c_message_free_unpacked",
		"protobuf_c_version",
	};
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		const char *lib = provider(syms[i]);
		if (strstr(lib, "libprotobuf-c") == NULL) {
			fprintf(stderr, "%s resolves to %s\n", syms[i], lib);
			CHECK(0);
		}
	}
	/* The address our own code calls through (GOT in a PIE) agrees. */
	CHECK(strstr(provider_of((const void *)&protobuf_c_message_unpack), "libprotobuf-c") != NULL);

	/* And generated code works end to end on that runtime. */
	Wa__HandshakeMessage__ClientHello hello = WA__HANDSHAKE_MESSAGE__CLIENT_HELLO__INIT;
	uint8_t eph[32];
	memset(eph, 0xab, sizeof eph);
	hello.has_ephemeral = 1;
	hello.ephemeral.data = eph;
	hello.ephemeral.len = sizeof eph;
	Wa__HandshakeMessage hm = WA__HANDSHAKE_MESSAGE__INIT;
	hm.client_hello = &hello;
	uint8_t buf[64];
	size_t n = wa__handshake_message__get_packed_size(&hm);
	CHECK(n == 36 && n <= sizeof buf);
	if (n <= sizeof buf) {
		wa__handshake_message__pack(&hm, buf);
		static const uint8_t head[] = { 0x12, 0x22, 0x0a, 0x20, 0xab };
		CHECK_EQ_MEM(buf, head, sizeof head);
		Wa__HandshakeMessage *back = wa__handshake_message__unpack(NULL, n, buf);
		CHECK(back && back->client_hello && back->client_hello->has_ephemeral &&
		      back->client_hello->ephemeral.len == 32);
		wa__handshake_message__free_unpacked(back, NULL);
	}
	return check_exit("test_protobuf_version");
}
