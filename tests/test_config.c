/*
 * test_config.c - groved flags and config file: defaults, every kind of
 * value, errors naming the flag, flags overriding the file, addresses; the
 * config file's grammar (doc/config_format.md): quotes, escapes, comments,
 * and every error, each naming the file and line (a key set twice names
 * both lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include "node/config.h"
#include "node/cluster_sockets.h"

static int parse(grove_config_t *cfg, char *err, int argc, ...)
{
	char *argv[32] = {"groved"};
	va_list ap;
	va_start(ap, argc);
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	grove_config_defaults(cfg);
	err[0] = 0;
	return grove_config_parse(cfg, argc, argv, err, GROVE_CONFIG_ERROR_BYTES);
}

static void test_defaults(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 2, "--id=n1"), 0);
	assert_string_equal(cfg.id, "n1");
	assert_string_equal(cfg.data_dir, "./grove-data");
	assert_string_equal(cfg.client.host, "127.0.0.1");
	assert_int_equal(cfg.client.port, 7379);
	assert_int_equal(cfg.gossip.port, 7946);
	assert_string_equal(cfg.advertise.host, "127.0.0.1");
	assert_string_equal(cfg.ca, "./grove-data/ca.pub");
	assert_string_equal(cfg.cert, "./grove-data/node.crt");
	assert_string_equal(cfg.key, "./grove-data/node.key");
	assert_int_equal(cfg.durability, GROVE_DURABILITY_NONE);
	assert_int_equal(cfg.max_offset_ms, 500);
	assert_int_equal(cfg.max_request_bytes, 8388608);
	assert_int_equal(cfg.log_level, GROVE_LOG_INFO);
	assert_int_equal(cfg.seed_count, 0);
}

/* --metrics: off by default, a bare port is loopback, HOST:PORT as
 * given, junk named; --check-config FILE reads FILE and sets the flag;
 * check-config is not a config-file key (metrics is). */
static void test_metrics_and_check_config(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 2, "--id=n1"), 0);
	assert_int_equal(cfg.metrics.port, 0);
	assert_false(cfg.check_config);
	assert_int_equal(parse(&cfg, err, 4, "--id=n1", "--metrics", "9121"), 0);
	assert_string_equal(cfg.metrics.host, "127.0.0.1");
	assert_int_equal(cfg.metrics.port, 9121);
	assert_int_equal(parse(&cfg, err, 3, "--id=n1", "--metrics=[::1]:80"), 0);
	assert_string_equal(cfg.metrics.host, "::1");
	assert_int_equal(parse(&cfg, err, 4, "--id=n1", "--metrics", "x:y"), GROVE_ECONFIG);
	assert_non_null(strstr(err, "--metrics: expected PORT, HOST:PORT"));
	char path[] = "/tmp/grove-test-checkXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "id = n7\nmetrics = 0.0.0.0:9\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(parse(&cfg, err, 3, "--check-config", path), 0);
	assert_true(cfg.check_config);
	assert_string_equal(cfg.id, "n7");
	assert_string_equal(cfg.metrics.host, "0.0.0.0");
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "check-config = x\n", 17), 17);
	close(fd);
	assert_int_equal(parse(&cfg, err, 3, "--check-config", path), GROVE_ECONFIG);
	assert_non_null(strstr(err, ":3: unknown setting 'check-config'"));
	unlink(path);
}

static void test_all_flags(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 27, "--id", "a", "--data", "/d", "--gossip", "[::1]:9000",
			       "--advertise=host.example:9001", "--client", "0.0.0.0:6400", "--seeds",
			       "a.example:1,[fe80::1]:2,10.0.0.1:3", "--ca", "/c", "--cert=/ce",
			       "--key", "/k", "--durability", "batch", "--gossip-interval", "50",
			       "--probe-interval=700", "--max-offset", "250", "--requirepass", "pw",
			       "--log-level=debug"),
			 0);
	assert_string_equal(cfg.gossip.host, "::1");
	assert_int_equal(cfg.gossip.port, 9000);
	assert_string_equal(cfg.advertise.host, "host.example");
	assert_int_equal(cfg.seed_count, 3);
	assert_string_equal(cfg.seeds[1].host, "fe80::1");
	assert_int_equal(cfg.seeds[2].port, 3);
	assert_string_equal(cfg.ca, "/c");
	assert_string_equal(cfg.cert, "/ce");
	assert_int_equal(cfg.durability, GROVE_DURABILITY_BATCH);
	assert_int_equal(cfg.gossip_interval_ms, 50);
	assert_int_equal(cfg.probe_interval_ms, 700);
	assert_int_equal(cfg.max_offset_ms, 250);
	assert_string_equal(cfg.requirepass, "pw");
	assert_int_equal(cfg.log_level, GROVE_LOG_DEBUG);
	char buf[80];
	grove_hostport_format(&cfg.gossip, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:9000");
	assert_false(grove_hostport_is_loopback(&cfg.client));
}

static void expect_error(const char *flag, const char *value, const char *want)
{
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 5, "--id", "n", flag, value), GROVE_ECONFIG);
	if (!strstr(err, want))
		fail_msg("%s %s: error '%s' lacks '%s'", flag, value, err, want);
}

static void test_errors_name_the_flag(void **state)
{
	(void)state;
	expect_error("--durability", "sometimes", "--durability: expected none, batch or always");
	expect_error("--gossip", "nohost", "--gossip: expected HOST:PORT");
	expect_error("--gossip", "::1:80", "--gossip: expected HOST:PORT");
	expect_error("--gossip", "h:99999", "--gossip: expected HOST:PORT");
	expect_error("--gossip", "h:", "--gossip: expected HOST:PORT");
	expect_error("--gossip", "h:0", "--gossip: port 0");
	expect_error("--seeds", "a:1,,b:2", "--seeds: expected");
	expect_error("--seeds", "a:0", "--seeds: expected");
	expect_error("--gossip-interval", "5", "--gossip-interval: expected an integer from 10");
	expect_error("--max-offset", "-1", "--max-offset: expected an integer");
	expect_error("--probe-interval", "12x", "--probe-interval: expected an integer");
	expect_error("--log-level", "loud", "--log-level: expected error, warn, info or debug");
	expect_error("--bogus", "1", "unknown flag '--bogus'");
	expect_error("--id", "has space", "--id: a node id is");
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 2, "--data"), GROVE_ECONFIG);
	assert_non_null(strstr(err, "--data: missing value"));
	assert_int_equal(parse(&cfg, err, 1), GROVE_ECONFIG);
	assert_non_null(strstr(err, "--id: missing"));
	assert_int_equal(parse(&cfg, err, 2, "stray"), GROVE_ECONFIG);
	assert_int_equal(parse(&cfg, err, 2, "--help"), 0);
	assert_true(cfg.help);
	assert_int_equal(parse(&cfg, err, 2, "--help=1"), GROVE_ECONFIG);
}

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/grove-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_config_file(void **state)
{
	(void)state;
	char *path = write_file("# a node\n\n  id = filenode \ndurability=always\r\n"
				"requirepass = \"with space\"\nclient = 127.0.0.5:7000\n");
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	/* flags win over the file even when given before --config */
	assert_int_equal(parse(&cfg, err, 5, "--durability", "batch", "--config", path), 0);
	assert_string_equal(cfg.id, "filenode");
	assert_int_equal(cfg.durability, GROVE_DURABILITY_BATCH);
	assert_string_equal(cfg.requirepass, "with space");
	assert_int_equal(cfg.client.port, 7000);
	assert_true(grove_hostport_is_loopback(&cfg.client));
	unlink(path);
	free(path);

	path = write_file("id = x\nmax-offset = lots\n");
	assert_int_equal(parse(&cfg, err, 3, "--config", path), GROVE_ECONFIG);
	assert_non_null(strstr(err, ":2: max-offset: expected an integer"));
	unlink(path);
	free(path);

	path = write_file("nonsense line\n");
	assert_int_equal(parse(&cfg, err, 3, "--config", path), GROVE_ECONFIG);
	assert_non_null(strstr(err, ":1: expected 'key = value'"));
	unlink(path);
	free(path);

	path = write_file("config = other\n");
	assert_int_equal(parse(&cfg, err, 3, "--config", path), GROVE_ECONFIG);
	assert_non_null(strstr(err, "unknown setting 'config'"));
	unlink(path);
	free(path);

	assert_int_equal(parse(&cfg, err, 3, "--config", "/nonexistent/grove.conf"), GROVE_ECONFIG);
	assert_non_null(strstr(err, "--config: cannot open"));
}

/* Parses text as the file "t.conf" over the defaults. */
static int parse_text(grove_config_t *cfg, const char *text, size_t len, char *err)
{
	grove_config_defaults(cfg);
	err[0] = 0;
	return grove_config_parse_text(cfg, text, len, "t.conf", err, GROVE_CONFIG_ERROR_BYTES);
}

typedef struct {
	const char *text;
	const char *password; /* the requirepass the text sets, or NULL: error */
	const char *error;    /* a substring of the error */
} grammar_case_t;

static const grammar_case_t grammar_cases[] = {
	{"requirepass = plain", "plain", NULL},
	{"requirepass = correct horse   # a comment", "correct horse", NULL},
	{"requirepass = \"correct horse\"", "correct horse", NULL},
	{"requirepass = \"x#y\"  # the # inside is kept", "x#y", NULL},
	{"requirepass = \"a \\\"b\\\" \\\\ c\\n\\t\"", "a \"b\" \\ c\n\t", NULL},
	{"  requirepass\t=\t\"v\"\t ", "v", NULL},
	{"requirepass = \"\"", "", NULL},
	{"requirepass = \"  padded  \"", "  padded  ", NULL},
	{"requirepass = a=b", "a=b", NULL},
	{"requirepass = it's", "it's", NULL},
	{"requirepass = h\xc3\xa9llo", "h\xc3\xa9llo", NULL},
	{"# comment\n\n   # indented comment\nrequirepass = p\n", "p", NULL},
	{"id = n1\r\nrequirepass = p\r\n", "p", NULL},
	{"requirepass = p", "p", NULL},
	{"requirepass=p#c", "p", NULL},
	{"requirepass = \"unterminated", NULL, "t.conf:1: requirepass: unterminated quoted value (no closing \")"},
	{"requirepass = \"ends with escape\\\"", NULL, "t.conf:1: requirepass: unterminated quoted value"},
	{"requirepass = \"a\\qb\"", NULL, "t.conf:1: requirepass: unknown escape \\q (use \\\", \\\\, \\n or \\t)"},
	{"requirepass = \"a\" b", NULL, "t.conf:1: requirepass: unexpected text after the closing quote"},
	{"requirepass = \"a\"b", NULL, "t.conf:1: requirepass: unexpected text after the closing quote"},
	{"requirepass = a\"b", NULL, "t.conf:1: requirepass: '\"' in a bare value (quote the whole value and write \\\")"},
	{"data = C:\\grove", NULL, "t.conf:1: data: '\\' in a bare value (quote the whole value and write \\\\)"},
	{"requirepass =", NULL, "t.conf:1: requirepass: missing value (write \"\" for an empty one)"},
	{"requirepass =   # only a comment", NULL, "t.conf:1: requirepass: missing value"},
	{"= x", NULL, "t.conf:1: expected 'key = value'"},
	{"requirepass x", NULL, "t.conf:1: expected 'key = value'"},
	{"\n\nRequirepass = x", NULL, "t.conf:3: unknown setting 'Requirepass'"},
	{"colour = blue", NULL, "t.conf:1: unknown setting 'colour'"},
	{"help = 1", NULL, "t.conf:1: unknown setting 'help'"},
	{"requirepass = a\x01" "b", NULL, "t.conf:1: control character 0x01 in column 16"},
	{"# comment \x7f\nrequirepass = b", NULL, "t.conf:1: control character 0x7f in column 11"},
	{"requirepass = a\rb", NULL, "t.conf:1: control character 0x0d in column 16"},
	{"durability = batch\n\n# again\ndurability = always\n", NULL,
	 "t.conf:4: durability: set twice, first on line 1"},
	{"requirepass = x\nrequirepass = x", NULL, "t.conf:2: requirepass: set twice, first on line 1"},
	{"max-offset = lots", NULL, "t.conf:1: max-offset: expected an integer from 1 to 3600000, got 'lots'"},
};

static void test_config_grammar(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	for (size_t i = 0; i < sizeof(grammar_cases) / sizeof(grammar_cases[0]); i++) {
		const grammar_case_t *c = &grammar_cases[i];
		int rc = parse_text(&cfg, c->text, strlen(c->text), err);
		if (c->password) {
			if (rc != 0)
				fail_msg("case %zu '%s': error '%s'", i, c->text, err);
			if (strcmp(cfg.requirepass, c->password) != 0)
				fail_msg("case %zu '%s': password '%s', want '%s'", i, c->text, cfg.requirepass,
					 c->password);
		} else {
			if (rc != GROVE_ECONFIG)
				fail_msg("case %zu '%s': accepted (password '%s')", i, c->text, cfg.requirepass);
			if (!strstr(err, c->error))
				fail_msg("case %zu '%s': error '%s' lacks '%s'", i, c->text, err, c->error);
		}
	}
}

static void test_config_nul_and_limits(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	static const char nul[] = "id = n1\nrequirepass = a\0b\n";
	assert_int_equal(parse_text(&cfg, nul, sizeof(nul) - 1, err), GROVE_ECONFIG);
	assert_non_null(strstr(err, "t.conf:2: control character 0x00 in column 16"));

	size_t len = GROVE_CONFIG_LINE_MAX + 16;
	char *text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, "requirepass = ", 14);
	memset(text + 14, 'x', len - 14);
	text[len] = 0;
	assert_int_equal(parse_text(&cfg, text, len, err), GROVE_ECONFIG);
	assert_non_null(strstr(err, "t.conf:1: line longer than"));
	free(text);

	len = (GROVE_CONFIG_LINES_MAX + 1) * 2;
	text = malloc(len);
	assert_non_null(text);
	for (size_t i = 0; i < len; i += 2)
		memcpy(text + i, "#\n", 2);
	assert_int_equal(parse_text(&cfg, text, len, err), GROVE_ECONFIG);
	assert_non_null(strstr(err, "t.conf: more than 10000 lines"));
	free(text);

	assert_int_equal(parse_text(&cfg, "", GROVE_CONFIG_FILE_BYTES_MAX + 1, err), GROVE_ECONFIG);
	assert_non_null(strstr(err, "t.conf: larger than"));
	assert_int_equal(parse_text(&cfg, "", 0, err), 0); /* an empty file sets nothing */
	assert_string_equal(cfg.data_dir, "./grove-data");
}

static void test_config_file_repeated_key_via_flags(void **state)
{
	(void)state;
	/* The whole path through --config: both lines named; a flag repeated
	 * on the command line still takes the last value. */
	char *path = write_file("id = a\ndata = /one\ndata = /two\n");
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	assert_int_equal(parse(&cfg, err, 3, "--config", path), GROVE_ECONFIG);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: data: set twice, first on line 2", path);
	assert_non_null(strstr(err, want));
	unlink(path);
	free(path);
	assert_int_equal(parse(&cfg, err, 5, "--id", "a", "--durability=batch", "--durability=always"), 0);
	assert_int_equal(cfg.durability, GROVE_DURABILITY_ALWAYS);
}

/* Copies the text of the first `code span` at or after *p into out. */
static bool code_span(const char **p, char *out, size_t cap)
{
	const char *a = strchr(*p, '`'), *b = a ? strchr(a + 1, '`') : NULL;
	if (!b || (size_t)(b - a - 1) >= cap)
		return false;
	memcpy(out, a + 1, (size_t)(b - a - 1));
	out[b - a - 1] = 0;
	*p = b + 1;
	return true;
}

/* Every row of doc/config_format.md's error table whose input is one
 * `line` gives exactly the documented message; the documented example
 * parses. */
static void test_config_doc(void **state)
{
	(void)state;
	FILE *f = fopen("doc/config_format.md", "r");
	assert_non_null(f);
	char line[1024], input[256], want[256], example[2048] = "";
	int rows = 0, in_example = 0;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES];
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## Example", 10))
			in_example = 1;
		else if (in_example == 1 && !strncmp(line, "```", 3))
			in_example = 2;
		else if (in_example == 2 && !strncmp(line, "```", 3))
			in_example = 3;
		else if (in_example == 2 && strlen(example) + strlen(line) < sizeof(example))
			strcat(example, line);
		const char *p = line;
		if (strncmp(line, "| `", 3) != 0 || !code_span(&p, input, sizeof(input)) ||
		    strncmp(p, " | `", 4) != 0 || !code_span(&p, want, sizeof(want)))
			continue;
		grove_config_defaults(&cfg);
		int rc = grove_config_parse_text(&cfg, input, strlen(input), "grove.conf", err, sizeof(err));
		if (rc != GROVE_ECONFIG || strcmp(err, want) != 0)
			fail_msg("doc row '%s': rc %d, message '%s', documented '%s'", input, rc, err, want);
		rows++;
	}
	fclose(f);
	assert_true(rows >= 9);
	assert_int_equal(in_example, 3);
	grove_config_defaults(&cfg);
	assert_int_equal(grove_config_parse_text(&cfg, example, strlen(example), "grove.conf", err, sizeof(err)), 0);
	assert_string_equal(cfg.id, "node-1");
	assert_string_equal(cfg.requirepass, "correct horse #1");
	assert_int_equal(cfg.durability, GROVE_DURABILITY_BATCH);
	assert_int_equal(cfg.gossip_interval_ms, 100);
}

static void test_usage_lists_flags(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	grove_config_usage(f);
	fclose(f);
	const char *flags[] = {"--id", "--data", "--gossip", "--advertise", "--client", "--seeds",
			       "--ca", "--cert", "--key", "--durability", "--gossip-interval",
			       "--probe-interval", "--max-offset", "--requirepass", "--log-level",
			       "--log-file", "--config", "[default: none]", "[default: 127.0.0.1:7379]"};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strstr(buf, flags[i]))
			fail_msg("usage lacks %s", flags[i]);
	free(buf);
}

/* A wildcard gossip address is never advertised: --advertise 0.0.0.0 is
 * refused, and without --advertise the address is derived from the route
 * to the seeds (or refused, naming the fix, when there are none). */
static void test_wildcard_gossip_advertise(void **state)
{
	(void)state;
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES], why[256];
	assert_int_equal(parse(&cfg, err, 4, "--id=n1", "--gossip=0.0.0.0:7946", "--advertise=0.0.0.0:7946"),
			 GROVE_ECONFIG);
	assert_non_null(strstr(err, "--advertise: '0.0.0.0' is a wildcard"));
	assert_int_equal(parse(&cfg, err, 3, "--id=n1", "--gossip=0.0.0.0:7946"), 0);
	assert_string_equal(cfg.advertise.host, "");
	assert_int_equal(cfg.advertise.port, 7946);
	assert_int_equal(grove_cluster_advertise(&cfg, why, sizeof why, err, sizeof err), GROVE_ECONFIG);
	assert_non_null(strstr(err, "--gossip 0.0.0.0:7946 is a wildcard address"));
	assert_non_null(strstr(err, "set --advertise HOST:PORT"));
	assert_int_equal(parse(&cfg, err, 4, "--id=n1", "--gossip=0.0.0.0:7946", "--seeds=127.0.0.9:7000"), 0);
	assert_int_equal(grove_cluster_advertise(&cfg, why, sizeof why, err, sizeof err), 0);
	assert_string_equal(cfg.advertise.host, "127.0.0.1"); /* the route to 127.0.0.9 leaves from lo */
	assert_int_equal(cfg.advertise.port, 7946);
	assert_non_null(strstr(why, "routes to seed 127.0.0.9:7000"));
	assert_int_equal(parse(&cfg, err, 4, "--id=n1", "--gossip=0.0.0.0:7946", "--advertise=10.1.2.3:0"), 0);
	assert_string_equal(cfg.advertise.host, "10.1.2.3");
	assert_int_equal(cfg.advertise.port, 7946);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_wildcard_gossip_advertise),
		cmocka_unit_test(test_all_flags),
		cmocka_unit_test(test_metrics_and_check_config),
		cmocka_unit_test(test_errors_name_the_flag),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_grammar),
		cmocka_unit_test(test_config_nul_and_limits),
		cmocka_unit_test(test_config_file_repeated_key_via_flags),
		cmocka_unit_test(test_config_doc),
		cmocka_unit_test(test_usage_lists_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
