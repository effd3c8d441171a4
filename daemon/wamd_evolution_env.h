/* Evolution's variable names and <data>/.env (wamd_evolution_env.c): used
 * by the config loader only. */
#ifndef WAMD_EVOLUTION_ENV_H
#define WAMD_EVOLUTION_ENV_H

#include <stddef.h>

struct wamd_config;

/* Reads <data_dir>/.env (kept until wamd_dotenv_clear) and applies
 * Evolution's variable names to c; envp (may be NULL) is scanned for
 * Evolution settings wamd ignores (wamd_evolution_ignored). */
/* set: wamd_config_set, passed in so this file does not call back into
 * the loader that calls it. */
typedef int (*wamd_config_set_fn)(struct wamd_config *c, const char *key, const char *val, const char *src,
				  char *err, size_t errlen);
int wamd_evolution_env_apply(struct wamd_config *c, const char *data_dir,
			     const char *(*getenv_fn)(const char *), char *const *envp, wamd_config_set_fn set,
			     char *err, size_t errlen);
/* getenv_fn(name), else the value in the loaded .env, else NULL. */
const char *wamd_env_get(const char *(*getenv_fn)(const char *), const char *name);
void wamd_dotenv_clear(void);
/* Parses .env text (modified in place) into the loaded set. */
int wamd_dotenv_parse(char *buf, const char *path, char *err, size_t errlen);
/* "DATABASE_PROVIDER, S3_ENABLED" of the last apply, or "". */
const char *wamd_evolution_ignored(void);

#endif
