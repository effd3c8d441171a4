/* Adapters from libsignal-protocol-c's store callbacks onto wa_store_*
 * (layer 6 over layer 5). Installed by wa_sig_new; nothing public here
 * beyond what internal.h declares (wa_sig_stores_install). Identity policy:
 * trust on first use, and a changed key is accepted (as Baileys and
 * whatsmeow do) but queued for the identity-changed callback. */
#ifndef WA_SIGNAL_STORES_H
#define WA_SIGNAL_STORES_H

#include "signal/internal.h"

#endif
