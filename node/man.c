/*
 * man.c - roff escaping for the generated manual pages (see man.h).
 *
 * roff reads a '\' as an escape, a '-' as a hyphen (not the ASCII minus an
 * option needs, so "--id" must be written "\-\-id") and a '.' or '\'' at
 * the start of an input line as a request; text from the help tables goes
 * through grove_man_text so none of those is taken literally.
 */
#include "node/man.h"

#include <string.h>

void grove_man_begin(FILE *out, const char *name, const char *section, const char *version,
		     const char *summary)
{
	/* No date: the page is the same for every build of one version. */
	fprintf(out, ".TH %s %s \"\" \"grove ", name, section);
	grove_man_text(out, version);
	/* .nh .ad l: no hyphenation, ragged right (option names stay whole). */
	fprintf(out, "\" \"Grove Manual\"\n.nh\n.ad l\n.SH NAME\n%s \\- ", name);
	grove_man_text(out, summary);
	fputc('\n', out);
}

void grove_man_text(FILE *out, const char *s)
{
	int line_start = 1;
	for (; *s; s++) {
		if (line_start && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
		line_start = *s == '\n';
	}
}

void grove_man_literal(FILE *out, const char *s)
{
	size_t n = strlen(s);
	fputs(".nf\n", out);
	grove_man_text(out, s);
	if (n == 0 || s[n - 1] != '\n')
		fputc('\n', out);
	fputs(".fi\n", out);
}
