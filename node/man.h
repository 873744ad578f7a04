/*
 * man.h - writing manual pages (roff with the -man macros) from the same
 * tables that print --help, so the pages cannot drift from the programs.
 *
 * `groved --man` (node/config.c, grove_config_man) and `grove --man`
 * (tools/grove_main.c) write their page to stdout with these helpers; the
 * Makefile runs them at build time into $(BUILD)/man/ and `make install`
 * copies the result.  The flag is for the build and is not listed in
 * --help.  Nothing here allocates; every function writes to `out` only.
 */
#ifndef GROVE_MAN_H
#define GROVE_MAN_H

#include <stdio.h>

/* Writes the title line (.TH) and the NAME section: "name \- summary". */
void grove_man_begin(FILE *out, const char *name, const char *section, const char *version,
		     const char *summary);

/* Writes s as roff text to be filled: backslashes and hyphens escaped, a
 * '.' or '\'' that would start an input line protected.  Newlines are kept
 * (roff fills them); nothing is appended. */
void grove_man_text(FILE *out, const char *s);

/* Writes s as a no-fill block (.nf ... .fi), escaped as grove_man_text,
 * for help texts whose lines and columns are laid out by hand. */
void grove_man_literal(FILE *out, const char *s);

#endif
