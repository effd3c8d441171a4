/* The OpenAPI 3.1 document of GET /openapi.json, and the page of GET
 * /openapi that renders it. The paths and methods come from the route
 * table (wamd_router.c hands its iterator in), so the document lists what
 * this build serves; each operation's summary, parameters, bodies and
 * answer schemas come from daemon/wamd_openapi.json (built into the
 * binary), keyed "METHOD /path". A route without an entry there is still
 * listed, marked "x-wamd-undocumented" (the contract test fails on it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

extern const char wamd_openapi_spec[];

struct build {
	json_t *spec_ops;
	json_t *paths;
};

static const char *lower_method(int m)
{
	switch (m) {
	case M_GET: return "get";
	case M_POST: return "post";
	case M_PUT: return "put";
	case M_DELETE: return "delete";
	case M_PATCH: return "patch";
	default: return NULL;
	}
}

static json_t *security_for(const char *scope)
{
	if (!strcmp(scope, "none"))
		return json_array();
	if (!strcmp(scope, "metrics"))
		return json_pack("[{s:[]}, {s:[]}]", "apikey", "metricsToken");
	return json_pack("[{s:[]}]", "apikey");
}

static const char *scope_text(const char *scope)
{
	if (!strcmp(scope, "none"))
		return "No key.";
	if (!strcmp(scope, "admin"))
		return "The admin key (or a trusted unix socket).";
	if (!strcmp(scope, "metrics"))
		return "The admin key, or the metrics_token as a Bearer token.";
	return NULL;
}

static void visit(void *arg, const struct wamd_route_info *r)
{
	struct build *b = arg;
	/* "/ws/events" is an upgrade; every other path is HTTP */
	for (int m = M_GET; m <= M_PATCH; m <<= 1) {
		if (!(r->methods & m))
			continue;
		const char *lm = lower_method(m);
		char key[160];
		snprintf(key, sizeof key, "%s %s", (m == M_GET ? "GET" : m == M_POST ? "POST" : m == M_PUT ? "PUT"
						    : m == M_DELETE ? "DELETE" : "PATCH"), r->path);
		json_t *spec = json_object_get(b->spec_ops, key);
		json_t *op = spec ? json_deep_copy(spec) : json_pack("{s:s, s:b, s:{s:{s:s}}}", "summary", key,
								     "x-wamd-undocumented", 1, "responses", "default",
								     "description", "not described");
		char opid[200];
		size_t k = 0;
		for (const char *p = key; *p && k + 1 < sizeof opid; p++)
			opid[k++] = (*p == ' ' || *p == '/' || *p == '{' || *p == '}' || *p == '.') ? '_' : *p;
		opid[k] = '\0';
		json_object_set_new(op, "operationId", json_string(opid));
		json_object_set_new(op, "security", security_for(r->scope));
		json_object_set_new(op, "x-wamd-scope", json_string(r->scope));
		const char *st = scope_text(r->scope);
		char auth[200];
		if (!st) {
			snprintf(auth, sizeof auth, "The admin key, or a token of this instance with the %s scope.",
				 r->scope);
			st = auth;
		}
		const char *desc = json_string_value(json_object_get(op, "description"));
		char *full = NULL;
		if (asprintf(&full, "%s%s%s", desc ? desc : "", desc ? "\n\n" : "", st) > 0) {
			json_object_set_new(op, "description", json_string(full));
			free(full);
		}
		if (strstr(r->path, "{instance}")) {
			json_t *params = json_object_get(op, "parameters");
			if (!json_is_array(params)) {
				params = json_array();
				json_object_set_new(op, "parameters", params);
			}
			json_array_insert_new(params, 0,
					      json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:s}}", "name", "instance", "in", "path",
							"required", 1, "description", "The instance's name", "schema", "type",
							"string", "pattern", "^[A-Za-z0-9@._-]{1,127}$"));
		}
		json_t *item = json_object_get(b->paths, r->path);
		if (!item) {
			item = json_object();
			json_object_set_new(b->paths, r->path, item);
		}
		json_object_set_new(item, lm, op);
	}
}

json_t *wamd_openapi_doc(wamd_route_iter each)
{
	json_error_t je;
	json_t *spec = json_loads(wamd_openapi_spec, 0, &je);
	if (!spec) {
		LOGE("openapi: the built-in descriptions are not JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	struct build b = { json_object_get(spec, "operations"), json_object() };
	each(visit, &b);
	json_t *info = json_deep_copy(json_object_get(spec, "info"));
	if (!json_is_object(info))
		info = json_object();
	json_object_set_new(info, "version", json_string(wamd_version()));
	json_t *components = json_deep_copy(json_object_get(spec, "components"));
	if (!json_is_object(components))
		components = json_object();
	json_object_set_new(components, "securitySchemes",
			    json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "apikey", "type", "apiKey", "in",
				      "header", "name", "apikey", "description",
				      "The admin key (api_key) or an instance token", "metricsToken", "type", "http",
				      "scheme", "bearer", "description", "metrics_token, for GET /metrics only"));
	json_t *doc = json_pack("{s:s, s:o, s:o, s:o}", "openapi", "3.1.0", "info", info, "paths", b.paths,
				"components", components);
	json_t *tags = json_object_get(spec, "tags");
	if (tags)
		json_object_set(doc, "tags", tags);
	json_decref(spec);
	return doc;
}

/* A page that renders /openapi.json without any other file or network:
 * every operation with its method, path, scope, description, parameters,
 * body and answers (schemas shown as JSON). */
const char *wamd_openapi_page(void)
{
	return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<title>wamd API</title>\n<style>\n"
	       "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:60em;padding:1em}\n"
	       "details{border:1px solid #ccc;border-radius:6px;margin:.4em 0;padding:.3em .6em}\n"
	       "summary{cursor:pointer}code,pre{font:13px ui-monospace,monospace}\n"
	       "pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:24em}\n"
	       ".m{display:inline-block;min-width:4.5em;font-weight:bold}.get{color:#061}.post{color:#05a}"
	       ".put{color:#a60}.delete{color:#a00}.s{color:#666;font-size:90%}\n"
	       "#q{width:100%;padding:.4em;font-size:15px;box-sizing:border-box}\n"
	       "</style></head><body>\n<h1 id=\"t\">wamd API</h1><p id=\"d\"></p>\n"
	       "<p>The document itself: <a href=\"openapi.json\">openapi.json</a> (OpenAPI 3.1).</p>\n"
	       "<input id=\"q\" placeholder=\"filter: path, method, text\" autofocus>\n<div id=\"ops\"></div>\n"
	       "<script>\n"
	       "const el=(t,a={},...k)=>{const e=document.createElement(t);Object.assign(e,a);"
	       "for(const c of k)e.append(c);return e};\n"
	       "const js=o=>JSON.stringify(o,null,2);\n"
	       "fetch('openapi.json').then(r=>r.json()).then(doc=>{\n"
	       " document.getElementById('t').textContent=doc.info.title+' '+doc.info.version;\n"
	       " document.getElementById('d').textContent=doc.info.description||'';\n"
	       " const ops=document.getElementById('ops');\n"
	       " for(const [path,item] of Object.entries(doc.paths))for(const [m,op] of Object.entries(item)){\n"
	       "  const d=el('details');d.dataset.k=(m+' '+path+' '+JSON.stringify(op)).toLowerCase();\n"
	       "  d.append(el('summary',{},el('span',{className:'m '+m,textContent:m.toUpperCase()}),"
	       "el('code',{textContent:path}),' ',el('span',{className:'s',textContent:(op.summary||'')+' ['+op['x-wamd-scope']+']'})));\n"
	       "  for(const p of (op.description||'').split('\\n\\n'))d.append(el('p',{textContent:p}));\n"
	       "  if(op.parameters)d.append(el('h4',{textContent:'Parameters'}),el('pre',{textContent:js(op.parameters)}));\n"
	       "  if(op.requestBody)d.append(el('h4',{textContent:'Body'}),el('pre',{textContent:js(op.requestBody)}));\n"
	       "  for(const [code,r] of Object.entries(op.responses||{}))d.append(el('h4',{textContent:code+' '+(r.description||'')}),"
	       "el('pre',{textContent:js(r.content||{})}));\n"
	       "  ops.append(d)}\n"
	       " if(doc.components&&doc.components.schemas){const d=el('details');d.append(el('summary',{textContent:'Schemas'}),"
	       "el('pre',{textContent:js(doc.components.schemas)}));ops.append(d)}\n"
	       " document.getElementById('q').oninput=e=>{const q=e.target.value.toLowerCase();"
	       "for(const d of ops.children)d.hidden=!!q&&!(d.dataset.k||'').includes(q)};\n"
	       "}).catch(e=>{document.getElementById('ops').textContent='could not load openapi.json: '+e});\n"
	       "</script></body></html>\n";
}

/* GET /openapi: the page above. */
void wamd_h_openapi_page(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	const char *page = wamd_openapi_page();
	char *copy = strdup(page);
	if (!copy) {
		wamd_reply_error(c, 500, json_pack("[s]", "out of memory"));
		return;
	}
	wamd_reply_raw(c, 200, "text/html; charset=utf-8", copy, strlen(copy));
}
