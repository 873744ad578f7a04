/*
 * error.c - messages and names for the error table in error.h.
 */
#include "grove/error.h"

const char *grove_strerror(int code)
{
	switch (code) {
	case GROVE_OK:
		return "success";
#define GROVE__ERR_MSG(name, c, msg) \
	case c:                      \
		return msg;
		GROVE_ERROR_MAP(GROVE__ERR_MSG)
#undef GROVE__ERR_MSG
	}
	return "unknown error";
}

const char *grove_err_name(int code)
{
	switch (code) {
	case GROVE_OK:
		return "GROVE_OK";
#define GROVE__ERR_NAME(name, c, msg) \
	case c:                       \
		return "GROVE_E" #name;
		GROVE_ERROR_MAP(GROVE__ERR_NAME)
#undef GROVE__ERR_NAME
	}
	return "GROVE_E?";
}
