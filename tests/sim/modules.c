/* The list of wasim modules initialised at start-up, in order. The core's
 * own handlers come first, so a later module registering the same stanza
 * tag, iq xmlns/child or HTTP route replaces the core fallback. Messaging
 * (W2): add your init functions below the marker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcore.h"

typedef int (*sim_module_init_fn)(struct sim *sim);

/* --- wasim messaging module declarations (W2) --- */
int sim_msg_init(struct sim *sim);
int sim_appstate_init(struct sim *sim);
int sim_calls_init(struct sim *sim);
/* --- end --- */

static const sim_module_init_fn modules[] = {
	sim_login_init,
	sim_control_init,
	/* --- wasim messaging modules (W2) --- */
	sim_msg_init,
	sim_appstate_init, /* after messaging: replaces its w:sync:app:state fallback */
	sim_calls_init,
	/* --- end --- */
};

long sim_real_parse(const char *v)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{"all", SIM_REAL_ALL}, {"hist_sync", SIM_REAL_HIST_SYNC},
		{"tctoken", SIM_REAL_TCTOKEN}, {"offline_batch", SIM_REAL_OFFLINE},
	};
	unsigned bits = 0;
	while (v && *v) {
		size_t len = strcspn(v, ",");
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len && strncmp(names[i].name, v, len) == 0)
				break;
		if (len && i == sizeof(names) / sizeof(names[0]))
			return -1;
		if (len)
			bits |= names[i].bit;
		v += len;
		if (*v == ',')
			v++;
	}
	return (long)bits;
}

int sim_modules_init(struct sim *sim)
{
	long real = sim_real_parse(getenv("WASIM_REAL"));
	if (real < 0) {
		fprintf(stderr, "wasim: WASIM_REAL: unknown switch in \"%s\"\n", getenv("WASIM_REAL"));
		return WA_EINVAL;
	}
	sim->real = (unsigned)real;
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		int rc = modules[i](sim);
		if (rc)
			return rc;
	}
	return 0;
}
