/*
 * status_page.c - the status page (node/status.html) as bytes in the
 * binary: the build turns the HTML into a list of byte values
 * (BUILD/gen/status_html.inc, made with od and sed; see the Makefile), so
 * the file stays plain HTML to edit and groved needs no file at run time.
 */
#include <stddef.h>

#include "node/monitor.h"

const unsigned char grove_status_html[] = {
#include "status_html.inc"
	0};
const size_t grove_status_html_len = sizeof(grove_status_html) - 1;
