/*
 * util_identity.c - hex and doc golden-block helpers for cmocka tests
 * (see util_identity.h).
 */
#include "tests/util_identity.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

long grove_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = hex; *p != '\0';) {
		if (*p == ' ' || *p == '\n') {
			p++;
			continue;
		}
		unsigned v;
		if (n >= cap || sscanf(p, "%2x", &v) != 1 || p[1] == '\0')
			return -1;
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return (long)n;
}

long grove_test_doc_golden(const char *doc_path, const char *name, uint8_t *out, size_t cap)
{
	FILE *f = fopen(doc_path, "r");
	assert_non_null(f);
	char marker[128], line[256], hex[4096] = "";
	snprintf(marker, sizeof marker, "<!-- golden:%s -->", name);
	int stage = 0; /* 0 looking for marker, 1 for the fence, 2 in the block */
	while (stage < 3 && fgets(line, sizeof line, f) != NULL) {
		if (stage == 0 && strncmp(line, marker, strlen(marker)) == 0)
			stage = 1;
		else if (stage >= 1 && strncmp(line, "```", 3) == 0)
			stage++;
		else if (stage == 2 && strlen(hex) + strlen(line) < sizeof hex)
			strcat(hex, line);
	}
	fclose(f);
	assert_int_equal(stage, 3);
	return grove_test_unhex(hex, out, cap);
}
