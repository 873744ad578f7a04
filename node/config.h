/*
 * config.h - groved's configuration: command-line flags and the config file.
 *
 * Every setting is a flag (--name VALUE or --name=VALUE) and a config-file
 * key of the same name without the dashes.  The config file (--config FILE)
 * is text, one "key = value" per line, with '#' comments and quoted values
 * with escapes; a key set twice is an error naming both lines (grammar:
 * doc/config_format.md, node/config_file.h).  Flags win over the file
 * whatever their order; a flag given twice takes its last value.  The table of settings, their defaults and help text lives in
 * config.c and is printed by `groved --help` (grove_config_usage); the
 * README lists the same table.
 *
 * Errors name the flag or file line and the expected form ("--durability:
 * expected none, batch or always, got 'x'"); groved exits with status 2.
 * Paths that default to the data directory (--ca, --cert, --key) are
 * resolved by grove_config_parse once --data is known.
 */
#ifndef GROVE_CONFIG_H
#define GROVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grove/value.h"
#include "grove/db.h"
#include "node/config_file.h" /* the file's grammar and limits */

#define GROVE_HOST_MAX 255
#define GROVE_PATH_MAX 1024
#define GROVE_SEEDS_MAX 64
#define GROVE_PASSWORD_MAX 256
#define GROVE_CONFIG_ERROR_BYTES 512

typedef struct grove_hostport {
	char host[GROVE_HOST_MAX + 1]; /* name or literal, IPv6 without brackets */
	uint16_t port;
} grove_hostport_t;

typedef enum grove_log_level {
	GROVE_LOG_ERROR = 0,
	GROVE_LOG_WARN = 1,
	GROVE_LOG_INFO = 2,
	GROVE_LOG_DEBUG = 3,
} grove_log_level_t;

typedef enum grove_tls_auth {
	GROVE_TLS_AUTH_YES = 0,  /* client certificate required (Redis's default) */
	GROVE_TLS_AUTH_OPTIONAL, /* verified when the client sends one */
	GROVE_TLS_AUTH_NO,       /* never asked for */
} grove_tls_auth_t;

typedef struct grove_config {
	char id[GROVE_NODE_ID_MAX + 1];
	char data_dir[GROVE_PATH_MAX];
	grove_hostport_t gossip;
	grove_hostport_t advertise; /* port 0: same as gossip; host "" after parse: derive at start
				     * (wildcard gossip address, see grove_cluster_advertise) */
	grove_hostport_t client;
	grove_hostport_t seeds[GROVE_SEEDS_MAX];
	size_t seed_count;
	char ca[GROVE_PATH_MAX];   /* "" until parse: DATA/ca.pub */
	char cert[GROVE_PATH_MAX]; /* DATA/node.crt */
	char key[GROVE_PATH_MAX];  /* DATA/node.key */
	grove_durability_t durability;
	uint32_t gossip_interval_ms; /* anti-entropy round and membership gossip period */
	uint32_t ae_fanout;          /* peers per anti-entropy round */
	uint32_t push_fanout;        /* peers per push datagram; 0: push off */
	uint32_t probe_interval_ms;
	uint32_t max_offset_ms;
	char requirepass[GROVE_PASSWORD_MAX + 1];
	grove_log_level_t log_level;
	char log_file[GROVE_PATH_MAX]; /* "": stderr */
	uint64_t max_request_bytes;
	uint32_t max_clients;
	uint32_t idle_timeout_s;     /* 0: never */
	uint64_t output_limit_bytes; /* per client */
	uint64_t elem_cache_bytes;   /* element record cache; 0: off */
	uint32_t tls_port;           /* TLS client port on --client's host; 0: off */
	char tls_cert_file[GROVE_PATH_MAX];
	char tls_key_file[GROVE_PATH_MAX];
	char tls_ca_cert_file[GROVE_PATH_MAX];
	grove_tls_auth_t tls_auth_clients;
	grove_hostport_t metrics;    /* HTTP monitoring port; port 0: off */
	bool help, version;
	bool check_config;           /* --check-config FILE: validate and exit */
} grove_config_t;

/* Fills the defaults. */
void grove_config_defaults(grove_config_t *cfg);

/* Parses argv[1..argc) (and the --config file it names) over the defaults.
 * 0, or GROVE_ECONFIG with a message naming the flag in err.  After
 * success cfg->help / cfg->version may be set (then nothing was checked
 * beyond the flags seen). */
int grove_config_parse(grove_config_t *cfg, int argc, char **argv, char *err,
		       size_t err_len) GROVE_MUST_CHECK;

/* Applies the settings in a config file's text (len bytes; path names the
 * file in errors) to cfg, over what it holds: the grammar of
 * doc/config_format.md.  0, or GROVE_ECONFIG with a message naming the
 * file and line in err.  Checks no setting against another (that is
 * grove_config_parse's last step). */
int grove_config_parse_text(grove_config_t *cfg, const char *text, size_t len, const char *path,
			    char *err, size_t err_len) GROVE_MUST_CHECK;

/* Parses "host:port", "[v6]:port"; GROVE_ECONFIG if malformed. */
int grove_hostport_parse(const char *s, grove_hostport_t *out) GROVE_MUST_CHECK;
/* Formats as "host:port" or "[v6]:port". */
void grove_hostport_format(const grove_hostport_t *hp, char *buf, size_t len);
/* Whether the host is a loopback address (127.0.0.0/8, ::1, localhost). */
bool grove_hostport_is_loopback(const grove_hostport_t *hp);
/* Whether the host is a wildcard (0.0.0.0, ::, or empty): bindable, never
 * an address a peer can reach. */
bool grove_hostport_is_wildcard(const grove_hostport_t *hp);

const char *grove_durability_name(grove_durability_t d);
const char *grove_log_level_name(grove_log_level_t l);

/* The current value of setting i (0, 1, ...) as text for CONFIG GET;
 * false past the last one.  *name is NULL for flag-only settings; a
 * password is shown as "". */
bool grove_config_setting(const grove_config_t *cfg, size_t i, const char **name, char *value,
			  size_t len);

/* Writes the --help text (every flag with its default). */
void grove_config_usage(FILE *out);
/* Writes groved(8) in roff from the same table and prose (`groved --man`,
 * run by the build; see node/man.h). */
void grove_config_man(FILE *out, const char *version);

#endif
