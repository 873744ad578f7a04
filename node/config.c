/*
 * config.c - groved's settings table, flag and config-file parsing.
 *
 * One table (opts[]) names every setting, its kind, where it lives in
 * grove_config_t, its default (as text, parsed by the same code as user
 * input) and its help line.  Flags and config-file lines both go through
 * set_opt, so the two can never disagree.  The file's grammar is
 * node/config_file.c's (doc/config_format.md); here each of its settings
 * is checked: a known key, set once, a valid value.
 */
#include "node/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "node/config_file.h"
#include "node/man.h"
#include "node/resp_codec.h"

typedef enum opt_kind {
	K_STR,    /* char array (path, file) */
	K_ID,     /* node id */
	K_SECRET, /* char array, never printed */
	K_ADDR,   /* host:port */
	K_SEEDS,  /* host:port list */
	K_DUR,    /* durability mode */
	K_LEVEL,  /* log level */
	K_TLSAUTH, /* yes | optional | no */
	K_U32,    /* integer in [min, max] */
	K_U64,    /* integer in [min, max] */
	K_LADDR,  /* host:port, or a bare port on 127.0.0.1; "": off */
	K_CONFIG, /* --config FILE (flags only) */
	K_CHECK,  /* --check-config FILE (flags only): read FILE, validate, exit */
	K_BOOL,   /* --help, --version (flags only, no value) */
} opt_kind_t;

typedef struct opt {
	const char *name;
	opt_kind_t kind;
	size_t offset, size;
	uint64_t min, max;
	const char *def; /* default as text ("" = none) */
	const char *arg; /* placeholder in --help */
	const char *help;
} opt_t;

#define F(field) offsetof(grove_config_t, field), sizeof(((grove_config_t *)0)->field)

static const opt_t opts[] = {
	{"config", K_CONFIG, 0, 0, 0, 0, "", "FILE",
	 "read settings from FILE (key = value lines, grammar in doc/config_format.md)"},
	{"id", K_ID, F(id), 0, 0, "", "ID", "node id (required; must match the certificate)"},
	{"data", K_STR, F(data_dir), 0, 0, "./grove-data", "DIR", "data directory (store, keys)"},
	{"gossip", K_ADDR, F(gossip), 0, 0, "127.0.0.1:7946", "HOST:PORT",
	 "gossip address, UDP and TCP on the same port"},
	{"advertise", K_ADDR, F(advertise), 0, 0, "", "HOST:PORT",
	 "gossip address peers use (NAT, wildcard --gossip); default: --gossip, or with --gossip "
	 "0.0.0.0 the address of the interface that routes to the seeds"},
	{"client", K_ADDR, F(client), 0, 0, "127.0.0.1:7379", "HOST:PORT",
	 "RESP client address; non-loopback requires --requirepass"},
	{"seeds", K_SEEDS, F(seeds), 0, 0, "", "H:P,H:P", "peers to join through (names resolved, [v6]:port)"},
	{"ca", K_STR, F(ca), 0, 0, "", "FILE", "cluster CA public key (default DATA/ca.pub)"},
	{"cert", K_STR, F(cert), 0, 0, "", "FILE", "node certificate (default DATA/node.crt)"},
	{"key", K_STR, F(key), 0, 0, "", "FILE", "node secret key, mode 0600 (default DATA/node.key)"},
	{"durability", K_DUR, F(durability), 0, 0, "none", "MODE",
	 "none | batch (group commit fsync) | always (fsync per write)"},
	{"gossip-interval", K_U32, F(gossip_interval_ms), 10, 600000, "200", "MS",
	 "anti-entropy round period (digest to --ae-fanout peers); also membership gossip"},
	{"ae-fanout", K_U32, F(ae_fanout), 1, 16, "3", "N", "peers sent a digest each anti-entropy round"},
	{"push-fanout", K_U32, F(push_fanout), 0, 16, "3", "N",
	 "peers each fresh write is pushed to, in 3 push rounds (0: push off; digests still converge)"},
	{"probe-interval", K_U32, F(probe_interval_ms), 10, 600000, "1000", "MS",
	 "membership probe period"},
	{"max-offset", K_U32, F(max_offset_ms), 1, 3600000, "500", "MS",
	 "reject remote timestamps further ahead than this"},
	{"requirepass", K_SECRET, F(requirepass), 0, 0, "", "PASSWORD",
	 "clients must AUTH with it (prefer the config file: flags show in ps)"},
	{"log-level", K_LEVEL, F(log_level), 0, 0, "info", "LEVEL", "error | warn | info | debug"},
	{"log-file", K_STR, F(log_file), 0, 0, "", "FILE", "log file, reopened on SIGHUP (default stderr)"},
	{"max-request", K_U64, F(max_request_bytes), 1024, GROVE_RESP_REQUEST_BYTES_MAX, "8388608",
	 "BYTES", "largest RESP request; larger ones get an error and the connection closes"},
	{"max-clients", K_U32, F(max_clients), 1, 1000000, "10000", "N", "concurrent client connections"},
	{"idle-timeout", K_U32, F(idle_timeout_s), 0, 86400 * 365, "0", "SECONDS",
	 "close clients idle this long (0: never)"},
	{"output-limit", K_U64, F(output_limit_bytes), 65536, 1ull << 40, "67108864", "BYTES",
	 "per-client pending reply bytes before the client is disconnected"},
	{"elem-cache", K_U64, F(elem_cache_bytes), 0, 1ull << 40, "268435456", "BYTES",
	 "memory for the element record cache: SISMEMBER/HGET/ZSCORE... of cached elements skip "
	 "the store lookup (0: off)"},
	{"tls-port", K_U32, F(tls_port), 0, 65535, "0", "PORT",
	 "also serve RESP over TLS on this port of --client's host (0: off)"},
	{"tls-cert-file", K_STR, F(tls_cert_file), 0, 0, "", "FILE", "TLS server certificate (PEM, chain allowed)"},
	{"tls-key-file", K_STR, F(tls_key_file), 0, 0, "", "FILE", "TLS server private key (PEM)"},
	{"tls-ca-cert-file", K_STR, F(tls_ca_cert_file), 0, 0, "", "FILE",
	 "CA certificates that sign client certificates (PEM)"},
	{"tls-auth-clients", K_TLSAUTH, F(tls_auth_clients), 0, 0, "yes", "MODE",
	 "yes (client certificate required) | optional | no"},
	{"metrics", K_LADDR, F(metrics), 0, 0, "", "HOST:PORT",
	 "HTTP monitoring: /metrics (Prometheus), / (status page), /status.json; a bare PORT "
	 "binds 127.0.0.1; non-loopback requires --requirepass (HTTP Basic auth); default off"},
	{"check-config", K_CHECK, 0, 0, 0, 0, "", "FILE",
	 "read settings from FILE (as --config), check them, the certificate and keys, and exit "
	 "(0: valid)"},
	{"help", K_BOOL, F(help), 0, 0, "", "", "print this help and exit"},
	{"version", K_BOOL, F(version), 0, 0, "", "", "print the version and exit"},
};
#define OPT_COUNT (sizeof(opts) / sizeof(opts[0]))

static int cfg_error(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int cfg_error(char *err, size_t len, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return GROVE_ECONFIG;
}

int grove_hostport_parse(const char *s, grove_hostport_t *out)
{
	grove_hostport_t hp = {0};
	const char *colon;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return GROVE_ECONFIG;
		hlen = (size_t)(close - s - 1);
		memcpy(hp.host, s + 1, hlen < sizeof(hp.host) ? hlen : 0);
		colon = close + 1;
		if (hlen == 0 || !memchr(s + 1, ':', hlen))
			return GROVE_ECONFIG;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return GROVE_ECONFIG; /* none, or an unbracketed v6 literal */
		hlen = (size_t)(colon - s);
		if (hlen == 0)
			return GROVE_ECONFIG;
		memcpy(hp.host, s, hlen < sizeof(hp.host) ? hlen : 0);
	}
	if (hlen >= sizeof(hp.host))
		return GROVE_ECONFIG;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port > 65535)
		return GROVE_ECONFIG;
	hp.port = (uint16_t)port;
	*out = hp;
	return 0;
}

void grove_hostport_format(const grove_hostport_t *hp, char *buf, size_t len)
{
	if (strchr(hp->host, ':'))
		snprintf(buf, len, "[%s]:%u", hp->host, hp->port);
	else
		snprintf(buf, len, "%s:%u", hp->host, hp->port);
}

bool grove_hostport_is_loopback(const grove_hostport_t *hp)
{
	return strncmp(hp->host, "127.", 4) == 0 || strcmp(hp->host, "::1") == 0 ||
	       strcmp(hp->host, "localhost") == 0;
}

bool grove_hostport_is_wildcard(const grove_hostport_t *hp)
{
	return hp->host[0] == '\0' || strcmp(hp->host, "0.0.0.0") == 0 || strcmp(hp->host, "::") == 0;
}

const char *grove_durability_name(grove_durability_t d)
{
	return d == GROVE_DURABILITY_ALWAYS ? "always" : d == GROVE_DURABILITY_BATCH ? "batch" : "none";
}

const char *grove_log_level_name(grove_log_level_t l)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	return (unsigned)l < 4 ? names[l] : "info";
}

static int parse_seeds(grove_config_t *cfg, const char *val)
{
	cfg->seed_count = 0;
	const char *p = val;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char one[GROVE_HOST_MAX + 16];
		if (n == 0 || n >= sizeof(one) || cfg->seed_count == GROVE_SEEDS_MAX)
			return GROVE_ECONFIG;
		memcpy(one, p, n);
		one[n] = 0;
		if (grove_hostport_parse(one, &cfg->seeds[cfg->seed_count]) < 0 ||
		    cfg->seeds[cfg->seed_count].port == 0)
			return GROVE_ECONFIG;
		cfg->seed_count++;
		p += n + (comma ? 1 : 0);
	}
	return 0;
}

/* Parses an unsigned decimal in [min, max]. */
static int parse_uint(const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (val[0] < '0' || val[0] > '9')
		return GROVE_ECONFIG;
	unsigned long long v = strtoull(val, &end, 10);
	if (*end || errno || v < min || v > max)
		return GROVE_ECONFIG;
	*out = v;
	return 0;
}

static bool id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > GROVE_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* Applies one setting; `where` names it in errors ("--id" or "f.conf:3: id"). */
static int set_opt(grove_config_t *cfg, const opt_t *o, const char *val, const char *where,
		   char *err, size_t elen)
{
	void *field = (char *)cfg + o->offset;
	uint64_t u;
	switch (o->kind) {
	case K_STR:
	case K_SECRET:
		if (strlen(val) >= o->size)
			return cfg_error(err, elen, "%s: value longer than %zu bytes", where, o->size - 1);
		strcpy(field, val);
		return 0;
	case K_ID:
		if (val[0] && !id_valid(val))
			return cfg_error(err, elen, "%s: a node id is 1..%d printable characters "
						    "without spaces, got '%s'",
					 where, GROVE_NODE_ID_MAX, val);
		strcpy(field, val);
		return 0;
	case K_ADDR:
		if (!val[0]) {
			memset(field, 0, o->size);
			return 0;
		}
		if (grove_hostport_parse(val, field) < 0)
			return cfg_error(err, elen, "%s: expected HOST:PORT or [IPv6]:PORT, got '%s'",
					 where, val);
		return 0;
	case K_LADDR:
		if (!val[0]) {
			memset(field, 0, o->size);
			return 0;
		}
		if (parse_uint(val, 1, 65535, &u) == 0) {
			*(grove_hostport_t *)field = (grove_hostport_t){.host = "127.0.0.1", .port = (uint16_t)u};
			return 0;
		}
		if (grove_hostport_parse(val, field) < 0)
			return cfg_error(err, elen, "%s: expected PORT, HOST:PORT or [IPv6]:PORT, got '%s'",
					 where, val);
		return 0;
	case K_SEEDS:
		if (parse_seeds(cfg, val) < 0)
			return cfg_error(err, elen, "%s: expected up to %d comma-separated HOST:PORT "
						    "(port 1..65535), got '%s'",
					 where, GROVE_SEEDS_MAX, val);
		return 0;
	case K_DUR:
		if (!strcmp(val, "none") || !strcmp(val, "batch") || !strcmp(val, "always")) {
			cfg->durability = !strcmp(val, "none")    ? GROVE_DURABILITY_NONE
					  : !strcmp(val, "batch") ? GROVE_DURABILITY_BATCH
								  : GROVE_DURABILITY_ALWAYS;
			return 0;
		}
		return cfg_error(err, elen, "%s: expected none, batch or always, got '%s'", where, val);
	case K_TLSAUTH:
		if (!strcmp(val, "yes") || !strcmp(val, "optional") || !strcmp(val, "no")) {
			cfg->tls_auth_clients = !strcmp(val, "yes")	   ? GROVE_TLS_AUTH_YES
						: !strcmp(val, "optional") ? GROVE_TLS_AUTH_OPTIONAL
									   : GROVE_TLS_AUTH_NO;
			return 0;
		}
		return cfg_error(err, elen, "%s: expected yes, optional or no, got '%s'", where, val);
	case K_LEVEL:
		for (int l = GROVE_LOG_ERROR; l <= GROVE_LOG_DEBUG; l++)
			if (!strcmp(val, grove_log_level_name((grove_log_level_t)l))) {
				cfg->log_level = (grove_log_level_t)l;
				return 0;
			}
		return cfg_error(err, elen, "%s: expected error, warn, info or debug, got '%s'", where, val);
	case K_U32:
	case K_U64:
		if (parse_uint(val, o->min, o->max, &u) < 0)
			return cfg_error(err, elen, "%s: expected an integer from %llu to %llu, got '%s'",
					 where, (unsigned long long)o->min, (unsigned long long)o->max, val);
		if (o->kind == K_U32)
			*(uint32_t *)field = (uint32_t)u;
		else
			*(uint64_t *)field = u;
		return 0;
	default:
		GROVE_ASSERT(!"flag-only kinds are handled by the caller");
		return GROVE_ECONFIG;
	}
}

static const opt_t *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < OPT_COUNT; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

void grove_config_defaults(grove_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < OPT_COUNT; i++) {
		if (opts[i].kind == K_CONFIG || opts[i].kind == K_CHECK || opts[i].kind == K_BOOL)
			continue;
		int rc = set_opt(cfg, &opts[i], opts[i].def, opts[i].name, NULL, 0);
		GROVE_ASSERT(rc == 0);
	}
}

/* The settings a config file has set so far, with their line numbers. */
typedef struct file_state {
	grove_config_t *cfg;
	const char *path;
	unsigned line_of[OPT_COUNT]; /* 0: not set yet */
} file_state_t;

/* Applies one setting of a config file: a known key, set once. */
static int file_entry(void *ctx, const grove_config_entry_t *e, char *err, size_t elen)
{
	file_state_t *f = ctx;
	const opt_t *o = find_opt(e->key, strlen(e->key));
	if (!o || o->kind == K_CONFIG || o->kind == K_CHECK || o->kind == K_BOOL)
		return cfg_error(err, elen, "%s:%u: unknown setting '%s'", f->path, e->line, e->key);
	size_t idx = (size_t)(o - opts);
	if (f->line_of[idx])
		return cfg_error(err, elen, "%s:%u: %s: set twice, first on line %u", f->path, e->line,
				 o->name, f->line_of[idx]);
	f->line_of[idx] = e->line;
	char where[GROVE_PATH_MAX + 64];
	snprintf(where, sizeof(where), "%s:%u: %s", f->path, e->line, o->name);
	return set_opt(f->cfg, o, e->value, where, err, elen);
}

int grove_config_parse_text(grove_config_t *cfg, const char *text, size_t len, const char *path,
			    char *err, size_t elen)
{
	file_state_t f = {.cfg = cfg, .path = path};
	return grove_config_file_parse(text, len, path, file_entry, &f, err, elen);
}

/* Reads the file at path whole (bounded) and applies it. */
static int config_file(grove_config_t *cfg, const char *path, char *err, size_t elen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cfg_error(err, elen, "--config: cannot open '%s': %s", path, strerror(errno));
	char *text = malloc(GROVE_CONFIG_FILE_BYTES_MAX + 1);
	if (!text) {
		fclose(f);
		return cfg_error(err, elen, "--config: %s: out of memory", path);
	}
	size_t len = fread(text, 1, GROVE_CONFIG_FILE_BYTES_MAX + 1, f);
	int rc = ferror(f) ? cfg_error(err, elen, "%s: read error", path)
			   : grove_config_parse_text(cfg, text, len, path, err, elen);
	fclose(f);
	free(text);
	return rc;
}

/* Splits argv[*i] into its option and value ("--x=v" or "--x v"). */
static int flag_at(int argc, char **argv, int *i, const opt_t **o, const char **val, char *err,
		   size_t elen)
{
	const char *a = argv[*i];
	if (strcmp(a, "-h") == 0)
		a = "--help";
	if (strncmp(a, "--", 2) != 0)
		return cfg_error(err, elen, "unexpected argument '%s' (flags start with --)", a);
	const char *name = a + 2, *eq = strchr(name, '=');
	size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
	*o = find_opt(name, nlen);
	if (!*o)
		return cfg_error(err, elen, "unknown flag '--%.*s' (see groved --help)", (int)nlen, name);
	if ((*o)->kind == K_BOOL) {
		if (eq)
			return cfg_error(err, elen, "--%s takes no value", (*o)->name);
		*val = "";
		return 0;
	}
	if (eq) {
		*val = eq + 1;
	} else if (*i + 1 < argc) {
		*val = argv[++*i];
	} else {
		return cfg_error(err, elen, "--%s: missing value %s", (*o)->name, (*o)->arg);
	}
	return 0;
}

/* Resolves defaults that depend on other settings and checks the whole. */
static int config_finish(grove_config_t *cfg, char *err, size_t elen)
{
	if (!cfg->id[0])
		return cfg_error(err, elen, "--id: missing (every node needs a unique id)");
	struct {
		char *field;
		const char *file;
	} paths[] = {{cfg->ca, "ca.pub"}, {cfg->cert, "node.crt"}, {cfg->key, "node.key"}};
	for (size_t i = 0; i < 3; i++)
		if (!paths[i].field[0] &&
		    (size_t)snprintf(paths[i].field, GROVE_PATH_MAX, "%s/%s", cfg->data_dir,
				     paths[i].file) >= GROVE_PATH_MAX)
			return cfg_error(err, elen, "--data: path too long");
	if (cfg->gossip.port == 0)
		return cfg_error(err, elen, "--gossip: port 0 is not allowed (peers must reach it)");
	if (cfg->advertise.host[0] && grove_hostport_is_wildcard(&cfg->advertise))
		return cfg_error(err, elen,
				 "--advertise: '%s' is a wildcard, not an address peers can reach (give this "
				 "host's address on the cluster network)",
				 cfg->advertise.host);
	if (cfg->advertise.port == 0)
		cfg->advertise.port = cfg->gossip.port;
	if (!cfg->advertise.host[0] && !grove_hostport_is_wildcard(&cfg->gossip))
		snprintf(cfg->advertise.host, sizeof(cfg->advertise.host), "%s", cfg->gossip.host);
	/* wildcard gossip without --advertise: the host stays "", derived at
	 * start from the route to the seeds (grove_cluster_advertise) */
	if (cfg->tls_port && (!cfg->tls_cert_file[0] || !cfg->tls_key_file[0]))
		return cfg_error(err, elen, "--tls-port: needs --tls-cert-file and --tls-key-file");
	if (cfg->tls_port && cfg->tls_auth_clients != GROVE_TLS_AUTH_NO && !cfg->tls_ca_cert_file[0])
		return cfg_error(err, elen, "--tls-auth-clients %s: needs --tls-ca-cert-file (the CA that signs "
					    "client certificates), or --tls-auth-clients no",
				 cfg->tls_auth_clients == GROVE_TLS_AUTH_YES ? "yes" : "optional");
	if (cfg->tls_port && cfg->tls_port == cfg->client.port)
		return cfg_error(err, elen, "--tls-port: %u is already the --client port", cfg->tls_port);
	return 0;
}

int grove_config_parse(grove_config_t *cfg, int argc, char **argv, char *err, size_t elen)
{
	const opt_t *o;
	const char *val;
	/* The config file first, so that flags override it. */
	for (int i = 1; i < argc; i++) {
		if (flag_at(argc, argv, &i, &o, &val, err, elen) < 0)
			return GROVE_ECONFIG;
		if ((o->kind == K_CONFIG || o->kind == K_CHECK) && config_file(cfg, val, err, elen) < 0)
			return GROVE_ECONFIG;
	}
	for (int i = 1; i < argc; i++) {
		int rc = flag_at(argc, argv, &i, &o, &val, err, elen);
		GROVE_ASSERT(rc == 0);
		if (o->kind == K_CONFIG)
			continue;
		if (o->kind == K_CHECK) {
			cfg->check_config = true;
			continue;
		}
		if (o->kind == K_BOOL) {
			*(bool *)((char *)cfg + o->offset) = true;
			continue;
		}
		char where[80];
		snprintf(where, sizeof(where), "--%s", o->name);
		if (set_opt(cfg, o, val, where, err, elen) < 0)
			return GROVE_ECONFIG;
	}
	if (cfg->help || cfg->version)
		return 0;
	return config_finish(cfg, err, elen);
}

/* Prose shared by --help and the man page (grove_config_man). */
static const char about[] =
	"Runs one Grove node: a RESP (Redis protocol) client port, gossip over\n"
	"UDP+TCP, a LevelDB store.  Every flag is also a config-file key (without\n"
	"the dashes) in FILE given by --config; flags win over the file.\n";
static const char exit_status[] =
	"Exit status: 0 clean shutdown (SIGTERM/SIGINT), 1 start-up or runtime\n"
	"failure, 2 bad flag or config value.\n";

void grove_config_usage(FILE *out)
{
	fprintf(out, "usage: groved --id ID [flags]\n\n%s\n", about);
	for (size_t i = 0; i < OPT_COUNT; i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s %s", opts[i].name, opts[i].arg);
		fprintf(out, "  %-28s %s", left, opts[i].help);
		if (opts[i].def[0] && opts[i].kind != K_SECRET)
			fprintf(out, " [default: %s]", opts[i].def);
		fputc('\n', out);
	}
	fprintf(out, "\n%s", exit_status);
}

void grove_config_man(FILE *out, const char *version)
{
	grove_man_begin(out, "groved", "8", version, "Grove cluster node (gossip CRDT key-value store)");
	fputs(".SH SYNOPSIS\n.B groved\n\\fB\\-\\-id\\fR \\fIID\\fR [\\fIflags\\fR]\n"
	      ".SH DESCRIPTION\n", out);
	grove_man_text(out, about);
	fputs(".SH OPTIONS\n", out);
	for (size_t i = 0; i < OPT_COUNT; i++) {
		fputs(".TP\n\\fB", out);
		grove_man_text(out, "--");
		grove_man_text(out, opts[i].name);
		fputs("\\fR", out);
		if (opts[i].arg[0]) {
			fputs(" \\fI", out);
			grove_man_text(out, opts[i].arg);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		grove_man_text(out, opts[i].help);
		if (opts[i].def[0] && opts[i].kind != K_SECRET) {
			fputs(" (default: ", out);
			grove_man_text(out, opts[i].def);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	fputs(".SH SIGNALS\n"
	      "SIGTERM and SIGINT stop the node gracefully; SIGHUP reopens the log file and\nreloads the certificate, key, DATA/revoked.crl and the --tls-* files (new TLS\nconnections use them; open ones keep theirs).\n"
	      ".SH EXIT STATUS\n", out);
	grove_man_text(out, exit_status);
	fputs(".SH SEE ALSO\n.BR grove (1),\n.BR redis\\-cli (1)\n", out);
}

/* The current value of setting i as text, for CONFIG GET; false past the
 * last setting.  *name is NULL for the flag-only ones (config, help,
 * version); a password is never shown (""). */
bool grove_config_setting(const grove_config_t *cfg, size_t i, const char **name, char *value,
			  size_t len)
{
	if (i >= OPT_COUNT)
		return false;
	const opt_t *o = &opts[i];
	const char *field = (const char *)cfg + o->offset;
	*name = o->kind == K_CONFIG || o->kind == K_CHECK || o->kind == K_BOOL ? NULL : o->name;
	value[0] = 0;
	switch (o->kind) {
	case K_STR:
	case K_ID:
		snprintf(value, len, "%s", field);
		break;
	case K_ADDR:
	case K_LADDR:
		if (((const grove_hostport_t *)field)->port)
			grove_hostport_format((const grove_hostport_t *)field, value, len);
		break;
	case K_SEEDS:
		for (size_t k = 0, used = 0; k < cfg->seed_count && used < len; k++) {
			char one[GROVE_HOST_MAX + 16];
			grove_hostport_format(&cfg->seeds[k], one, sizeof(one));
			used += (size_t)snprintf(value + used, len - used, "%s%s", k ? "," : "", one);
		}
		break;
	case K_DUR:
		snprintf(value, len, "%s", grove_durability_name(cfg->durability));
		break;
	case K_LEVEL:
		snprintf(value, len, "%s", grove_log_level_name(cfg->log_level));
		break;
	case K_TLSAUTH:
		snprintf(value, len, "%s", cfg->tls_auth_clients == GROVE_TLS_AUTH_YES        ? "yes"
					   : cfg->tls_auth_clients == GROVE_TLS_AUTH_OPTIONAL ? "optional"
											      : "no");
		break;
	case K_U32:
		snprintf(value, len, "%u", *(const uint32_t *)field);
		break;
	case K_U64:
		snprintf(value, len, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	default: /* K_SECRET, K_CONFIG, K_BOOL: nothing to show */
		break;
	}
	return true;
}
