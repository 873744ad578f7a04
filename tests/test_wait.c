/*
 * test_wait.c - WAIT's bookkeeping (node/wait.h): write positions,
 * per-peer known positions (highest kept, forgotten on membership changes,
 * position 0 = any recorded peer, bounded table), blocked clients answered
 * when satisfied or at their deadline, and the ask pacing.  The WAIT
 * command itself is tested in test_commands.c, the evidence in
 * test_ae_wait.c, the whole on real processes in tests/proc/test_node_wait.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/wait.h"

static void test_positions(void **state)
{
	(void)state;
	grove_wait_t w;
	grove_wait_init(&w);
	assert_int_equal(grove_wait_position(&w), 0);
	assert_int_equal(grove_wait_note_write(&w), 1);
	assert_int_equal(grove_wait_note_write(&w), 2);
	assert_int_equal(grove_wait_position(&w), 2);
	grove_wait_close(&w);
}

static void test_peer_tracking(void **state)
{
	(void)state;
	grove_wait_t w;
	grove_wait_init(&w);
	assert_int_equal(grove_wait_count(&w, 0), 0); /* nobody recorded: nobody counts */
	grove_wait_peer_holds(&w, "n2", 5, 100);
	grove_wait_peer_holds(&w, "n3", 3, 100);
	grove_wait_peer_holds(&w, "n2", 4, 200); /* an older digest never lowers it */
	assert_int_equal(grove_wait_count(&w, 0), 2);
	assert_int_equal(grove_wait_count(&w, 3), 2);
	assert_int_equal(grove_wait_count(&w, 4), 1);
	assert_int_equal(grove_wait_count(&w, 5), 1);
	assert_int_equal(grove_wait_count(&w, 6), 0);
	assert_true(grove_wait_peer_known(&w, "n2", 5));
	assert_false(grove_wait_peer_known(&w, "n3", 4));
	assert_false(grove_wait_peer_known(&w, "n4", 0));
	grove_wait_peer_forget(&w, "n2");
	grove_wait_peer_forget(&w, "n9"); /* unknown: nothing */
	assert_int_equal(grove_wait_count(&w, 0), 1);
	assert_false(grove_wait_peer_known(&w, "n2", 0));
	grove_wait_peer_holds(&w, "n2", 1, 300); /* back, with what it shows now */
	assert_int_equal(grove_wait_count(&w, 3), 1);
	assert_int_equal(grove_wait_count(&w, 1), 2);
	/* Unusable names are not recorded. */
	char longname[GROVE_WAIT_PEER_BYTES_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	grove_wait_peer_holds(&w, longname, 9, 1);
	grove_wait_peer_holds(&w, "", 9, 1);
	grove_wait_peer_holds(&w, NULL, 9, 1);
	assert_int_equal(grove_wait_count(&w, 0), 2);
	grove_wait_close(&w);
}

static void test_peer_table_bound(void **state)
{
	(void)state;
	grove_wait_t w;
	grove_wait_init(&w);
	char name[32];
	for (int i = 0; i < GROVE_WAIT_PEERS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "peer-%d", i);
		grove_wait_peer_holds(&w, name, 1, 0);
	}
	assert_int_equal(grove_wait_count(&w, 1), GROVE_WAIT_PEERS_MAX);
	assert_int_equal(w.peers_dropped, 10);
	grove_wait_peer_holds(&w, "peer-0", 2, 0); /* known peers still update */
	assert_int_equal(grove_wait_count(&w, 2), 1);
	grove_wait_close(&w);
}

static int notified;

static void on_notify(void *ctx)
{
	(void)ctx;
	notified++;
}

static void test_waiters(void **state)
{
	(void)state;
	grove_wait_t w;
	grove_wait_init(&w);
	grove_wait_set_notify(&w, on_notify, NULL);
	notified = 0;
	int a, b, c;
	void *owner;
	size_t count;
	uint64_t pos;
	grove_wait_peer_holds(&w, "n2", 1, 0);
	assert_int_equal(notified, 0); /* nobody waits */
	assert_false(grove_wait_ask_due(&w, 1000, &pos));
	assert_int_equal(grove_wait_next_deadline(&w), GROVE_WAIT_NO_DEADLINE);

	assert_int_equal(grove_wait_block(&w, &a, 2, 2, 1500), 0); /* 2 peers hold 2, by 1500 */
	assert_int_equal(grove_wait_block(&w, &b, 1, 1, GROVE_WAIT_NO_DEADLINE), 0);
	assert_int_equal(grove_wait_block(&w, &c, 3, 1, 1200), 0);
	assert_int_equal(grove_wait_blocked(&w), 3);
	/* b is satisfied already (n2 holds 1); the others are not. */
	assert_true(grove_wait_next_done(&w, 1000, &owner, &count));
	assert_ptr_equal(owner, &b);
	assert_int_equal(count, 1);
	assert_false(grove_wait_next_done(&w, 1000, &owner, &count));
	/* Asks: due at once after a block, then every GROVE_WAIT_ASK_MS, for
	 * the highest position waited for. */
	assert_true(grove_wait_ask_due(&w, 1000, &pos));
	assert_int_equal(pos, 3);
	assert_false(grove_wait_ask_due(&w, 1000 + GROVE_WAIT_ASK_MS - 1, &pos));
	assert_int_equal(grove_wait_next_deadline(&w), 1000 + GROVE_WAIT_ASK_MS);
	assert_true(grove_wait_ask_due(&w, 1000 + GROVE_WAIT_ASK_MS, &pos));
	grove_wait_ask_soon(&w); /* a session reconciled */
	assert_int_equal(notified, 1);
	assert_true(grove_wait_ask_due(&w, 1000 + GROVE_WAIT_ASK_MS, &pos));
	/* Evidence: n2 and n3 hold 2; a is satisfied, c (position 3) not. */
	grove_wait_peer_holds(&w, "n2", 2, 1100);
	grove_wait_peer_holds(&w, "n3", 2, 1100);
	assert_int_equal(notified, 3);
	grove_wait_peer_holds(&w, "n3", 2, 1110); /* nothing new: no notify */
	assert_int_equal(notified, 3);
	assert_true(grove_wait_next_done(&w, 1100, &owner, &count));
	assert_ptr_equal(owner, &a);
	assert_int_equal(count, 2);
	assert_false(grove_wait_next_done(&w, 1199, &owner, &count));
	/* The next look: the ask at 1100, before c's deadline at 1200. */
	assert_int_equal(grove_wait_next_deadline(&w), 1100);
	/* c expires at its deadline with what is known (0 peers hold 3). */
	assert_true(grove_wait_next_done(&w, 1200, &owner, &count));
	assert_ptr_equal(owner, &c);
	assert_int_equal(count, 0);
	assert_int_equal(grove_wait_blocked(&w), 0);

	/* Unblock (client gone) and answer-all (shutdown). */
	assert_int_equal(grove_wait_block(&w, &a, 9, 5, GROVE_WAIT_NO_DEADLINE), 0);
	assert_int_equal(grove_wait_block(&w, &b, 9, 5, GROVE_WAIT_NO_DEADLINE), 0);
	grove_wait_unblock(&w, &a);
	grove_wait_unblock(&w, &c); /* not blocked: nothing */
	assert_false(grove_wait_next_done(&w, UINT64_MAX - 1, &owner, &count));
	assert_true(grove_wait_next_done(&w, GROVE_WAIT_NO_DEADLINE, &owner, &count));
	assert_ptr_equal(owner, &b);
	assert_int_equal(grove_wait_blocked(&w), 0);
	grove_wait_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_peer_tracking),
		cmocka_unit_test(test_peer_table_bound),
		cmocka_unit_test(test_waiters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
