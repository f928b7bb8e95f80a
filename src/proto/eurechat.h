/* SPDX-License-Identifier: MIT */
/*
 * Rules of the eurechat protocol shared by the directory and its clients, beyond the framing
 * (frame.h): message types and what a password may be.
 */
#ifndef SB_PROTO_EURECHAT_H
#define SB_PROTO_EURECHAT_H

#define EURE_T_USER "USER"
#define EURE_T_PASS "PASS"
#define EURE_T_BIND "BIND"
#define EURE_T_QUERY "QUERY"
#define EURE_T_LEAVE "LEAVE"
#define EURE_T_ACK "ACK"
#define EURE_T_ERR "ERR"
#define EURE_T_RESULT "RESULT"
#define EURE_T_MESSAGE "MESSAGE"
#define EURE_T_PING "PING"
#define EURE_T_PONG "PONG"

/* The two frames without arguments or payload that both sides send as they are. */
#define EURE_PING_FRAME "PING 0\n"
#define EURE_PONG_FRAME "PONG 0\n"

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MAX 256 /* bytes */
#define EURE_NAME_MAX 64 /* longest user name a client accepts from the network */

/* One line of a QUERY result: "user,address,port". */
struct eure_binding {
    char user[EURE_NAME_MAX + 1];
    char addr[64]; /* numeric IPv4 or IPv6 address, as the directory wrote it */
    unsigned port;
};

/**
 * eure_password_problem() - why @pw cannot be a password, or NULL if it can. A password travels
 * as one argument of a PASS header: 1 to PASSWORD_MAX bytes, no blank and no control byte.
 */
const char *eure_password_problem(const char *pw);

/**
 * eure_name_valid() - can @p,@n be shown as a user name: 1 to EURE_NAME_MAX printable ASCII
 * characters other than blank and ','? (Stricter than the directory needs, so that no name
 * from the network can hold a terminal control sequence.)
 */
bool eure_name_valid(const char *p, size_t n);

/**
 * eure_result_next() - decode the next line of a RESULT payload.
 * @p, @n: the payload; @pos: where to start, advanced past the line on success
 * @b: filled on success
 * Return: 1 with @b filled, 0 at the end of the payload, -1 if the line is malformed (bad field
 * count, name not valid by eure_name_valid(), address that is not numeric, port outside 1-65535).
 */
int eure_result_next(const char *p, size_t n, size_t *pos, struct eure_binding *b);

#endif
