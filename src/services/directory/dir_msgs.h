/* SPDX-License-Identifier: MIT */
/* Every text the directory sends, in one place. The first nine are the seed's, byte for byte. */
#ifndef SB_DIRECTORY_MSGS_H
#define SB_DIRECTORY_MSGS_H

#include "proto/eurechat.h" /* message types (EURE_T_*) and the PING frame */

#define DIR_MSG_HELLO "hi %s, authentication required"
#define DIR_MSG_AUTH_OK "successfully authenticated"
#define DIR_MSG_AUTH_FAILED "authentication failed"
#define DIR_MSG_EXPECT_USER "a 'USER <username>' command was expected!"
#define DIR_MSG_EXPECT_PASS "a 'PASS <password>' command was expected!"
#define DIR_MSG_BOUND "bound successfully to %s:%u"
#define DIR_MSG_BAD_BIND "invalid bind notification"
#define DIR_MSG_LEFT "deregistered from directory"
#define DIR_MSG_UNKNOWN "I did not understand the message %.*s"

/* Beyond the seed. */
#define DIR_MSG_BAD_NAME "invalid username: use 1 to 32 letters, digits or _.-[]\\`^{}|"
#define DIR_MSG_RATE "too many failed logins from your address, try again later"
#define DIR_MSG_BUSY "server busy, try again later"
#define DIR_MSG_INTERNAL "internal error, try again later"

#endif
