/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of shared byte strings and sess_send_shared() in src/core/conn.c: reference counts,
 * output queued by reference from outside any session callback (flushed in the same loop turn),
 * fan-out to several sessions, and the output limit. Sessions run over UNIX socket pairs.
 */
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/conn.h"
#include "core/loop.h"

#define NSESS 3

static struct session *opened[NSESS];
static size_t nopened, nclosed;

static enum sess_verdict
on_open(struct session *s)
{
    opened[nopened++] = s;
    return SESS_OK;
}

static enum sess_verdict
on_frame(struct session *s, const char *p, size_t n)
{
    return SESS_OK;
}

static void
on_close(struct session *s)
{
    nclosed++;
}

static const struct sess_ops ops = {
    .framing = FRAME_LINE,
    .on_open = on_open,
    .on_frame = on_frame,
    .on_close = on_close,
};

static struct endpoint ep = {
    .name = "test",
    .ops = &ops,
    .frame_limit = 512,
    .max_output = 4096,
    .max_clients = 100,
};

/* Opens @n sessions; their peers' ends go to @peer. */
static void
open_sessions(int *peer, size_t n)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    nopened = nclosed = 0;
    for (size_t i = 0; i < n; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        conn_accept(&ep, sv[0], (struct sockaddr *)&sun, sizeof(sun));
        peer[i] = sv[1];
    }
    assert_int_equal(nopened, n);
}

/* Everything the peer can read now. */
static size_t
drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t r;

    while (got < cap && (r = recv(fd, buf + got, cap - got, MSG_DONTWAIT)) > 0) {
        got += (size_t)r;
    }
    return got;
}

static int
setup(void **state)
{
    assert_int_equal(loop_init(), 0);
    return 0;
}

static int
teardown(void **state)
{
    conn_close_all();
    loop_free();
    return 0;
}

static void
test_refcount(void **state)
{
    struct shared_bytes *b = shared_new("hello", 5);

    assert_int_equal(shared_len(b), 5);
    assert_memory_equal(shared_data(b), "hello", 5);
    assert_ptr_equal(shared_ref(b), b);
    shared_unref(b);
    shared_unref(b); /* ASan reports a leak or a double free if the count is wrong */
    shared_unref(NULL);

    b = shared_new(NULL, 0);
    assert_int_equal(shared_len(b), 0);
    shared_unref(b);
}

/* Sent from outside any session callback (as from a timer): nothing is written until the loop
 * runs, then each peer gets every message, in order, by reference or copied. */
static void
test_fan_out(void **state)
{
    int peer[NSESS];
    char big[600], buf[8192];
    size_t want = 0;

    memset(big, 'x', sizeof(big) - 2);
    memcpy(big + sizeof(big) - 2, "\r\n", 2);
    open_sessions(peer, NSESS);
    for (int m = 0; m < 5; m++) {
        struct shared_bytes *b = m == 2 ? shared_new(big, sizeof(big)) : shared_new("msg\r\n", 5);
        for (size_t i = 0; i < NSESS; i++) {
            assert_int_equal(sess_send_shared(opened[i], b), 0);
        }
        want += shared_len(b);
        shared_unref(b); /* the output buffers keep theirs */
    }
    assert_int_equal(sess_output_pending(opened[0]), want);
    assert_false(sess_tls(opened[0]));
    assert_int_equal(drain(peer[0], buf, sizeof(buf)), 0);

    loop_once(false);
    for (size_t i = 0; i < NSESS; i++) {
        assert_int_equal(sess_output_pending(opened[i]), 0);
        assert_int_equal(drain(peer[i], buf, sizeof(buf)), want);
        assert_memory_equal(buf, "msg\r\nmsg\r\n", 10);
        assert_memory_equal(buf + 10, big, sizeof(big));
        close(peer[i]);
    }
    conn_close_all();
    assert_int_equal(nclosed, NSESS);
}

/* Over max_output the session is dropped, as with sess_send(). */
static void
test_output_limit(void **state)
{
    int peer[1];
    char big[3000];

    memset(big, 'y', sizeof(big));
    open_sessions(peer, 1);
    struct shared_bytes *b = shared_new(big, sizeof(big));
    assert_int_equal(sess_send_shared(opened[0], b), 0);
    assert_int_equal(sess_send_shared(opened[0], b), -1);
    assert_string_equal(opened[0]->end, "output limit exceeded");
    shared_unref(b);
    loop_once(false);
    assert_int_equal(nclosed, 1);
    close(peer[0]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount),
        cmocka_unit_test_setup_teardown(test_fan_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
