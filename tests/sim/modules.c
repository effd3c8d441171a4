/* The list of wasim modules initialised at start-up, in order. The core's
 * own handlers come first, so a later module registering the same stanza
 * tag, iq xmlns/child or HTTP route replaces the core fallback. Messaging
 * (W2): add your init functions below the marker. */
#include "simcore.h"

typedef int (*sim_module_init_fn)(struct sim *sim);

/* --- wasim messaging module declarations (W2) --- */
int sim_msg_init(struct sim *sim);
/* --- end --- */

static const sim_module_init_fn modules[] = {
	sim_login_init,
	sim_control_init,
	/* --- wasim messaging modules (W2) --- */
	sim_msg_init,
	/* --- end --- */
};

int sim_modules_init(struct sim *sim)
{
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		int rc = modules[i](sim);
		if (rc)
			return rc;
	}
	return 0;
}
