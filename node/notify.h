/*
 * notify.h - service-manager readiness notification, systemd's sd_notify
 * protocol without libsystemd: when the environment has NOTIFY_SOCKET (a
 * unix datagram socket path, or "@name" for the abstract namespace), each
 * call sends one datagram with newline-separated "KEY=VALUE" assignments
 * ("READY=1", "STOPPING=1", "STATUS=text").  groved sends READY=1 once its
 * store is open and membership joined (or the join wait timed out), and
 * STOPPING=1 when it starts leaving (node/daemon.c; the unit file is
 * tools/groved.service.in, Type=notify).
 */
#ifndef GROVE_NODE_NOTIFY_H
#define GROVE_NODE_NOTIFY_H

#include "grove/error.h"

/* Sends state to $NOTIFY_SOCKET.  0 when sent or when NOTIFY_SOCKET is
 * unset (nothing to do); GROVE_EINVAL for a malformed variable, GROVE_EIO
 * when the send fails. */
int grove_notify(const char *state);

#endif
