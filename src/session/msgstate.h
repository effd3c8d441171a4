/* Messaging half of a wa_session (S2): the state behind s->msg and the
 * entry points the connection half calls (dispatch rows, lifecycle hooks).
 * Internal to src/session. */
#ifndef WA_SESSION_MSGSTATE_H
#define WA_SESSION_MSGSTATE_H

#include "session/internal.h"
#include "session/msg.h"

/* ---- timings and limits ---- */
#define WA_MSG_ACK_TIMEOUT_MS 30000u      /* server ack deadline before a resend (config ack_timeout_ms) */
#define WA_MSG_MAX_ACK_RESENDS 3u         /* resends of one stanza on one connection; one more deadline recycles it */
#define WA_MSG_PREP_BACKOFF_MS 1000u      /* first wait after a transient usync / pre-key failure (doubles) */
#define WA_MSG_PREP_BACKOFF_MAX_MS 60000u /* longest such wait */
#define WA_MSG_DEVCACHE_TTL_MS (5 * 60 * 1000) /* device list cache (Baileys: 5 min) */
#define WA_MSG_MAX_RETRY 5                /* retry receipts per message (both clients) */
#define WA_MSG_MAX_DEVCACHE 4096          /* users whose device lists we cache */
#define WA_MSG_MAX_RETRY_TRACK 1024       /* failed incoming ids we count retries for */
#define WA_MSG_MAX_PENDING_EVENTS 64      /* identity changes queued during a crypto step */
#define WA_MSG_MAX_HELD_CHATS WA_STORE_OUTBOX_MAX_SKIP /* chats in a send backoff skipped at once; more hold all */

/* Outbox payload records (first byte). */
#define WA_OUTBOX_PLAN 'P'    /* 'P' type-byte Message: not yet encrypted */
#define WA_OUTBOX_STANZA 'S'  /* 'S' encoded stanza: encrypted, resend as is */

/* dispatch rows */
int wa_msg_handle_message(wa_session *s, const wa_node *n);
int wa_msg_handle_receipt(wa_session *s, const wa_node *n);
int wa_msg_handle_ack(wa_session *s, const wa_node *n);
int wa_msg_handle_notification(wa_session *s, const wa_node *n);
int wa_msg_handle_presence(wa_session *s, const wa_node *n);
int wa_msg_handle_chatstate(wa_session *s, const wa_node *n);
int wa_msg_handle_call(wa_session *s, const wa_node *n);

/* lifecycle (wa_session_exts) */
extern const wa_session_ext wa_msg_ext;

#endif
