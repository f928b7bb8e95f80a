/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for what the chat client takes from the network: a QUERY result payload
 * (every accepted line must be well formed) and peer text escaped for the terminal (the output
 * must be valid UTF-8 without a control byte, newline and tab aside in multi-line mode).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/text.h"
#include "fuzz/fuzz.h"
#include "proto/eurechat.h"

static void
check_result(const char *p, size_t n)
{
    struct eure_binding b;
    size_t pos = 0, last = 0;
    int r;
    unsigned char buf[16];

    while ((r = eure_result_next(p, n, &pos, &b)) == 1) {
        CHECK(pos > last && pos <= n);
        last = pos;
        CHECK(eure_name_valid(b.user, strlen(b.user)));
        CHECK(b.port >= 1 && b.port <= 65535);
        CHECK(inet_pton(AF_INET, b.addr, buf) == 1 || inet_pton(AF_INET6, b.addr, buf) == 1);
    }
    CHECK(r == 0 || r == -1);
    CHECK(pos <= n);
}

static void
check_escape(const char *p, size_t n, bool multiline)
{
    char *out = text_escape(p, n, multiline);
    size_t len = strlen(out);

    CHECK(len <= 4 * n);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)out[i];
        size_t k = utf8_seq_len((const unsigned char *)out + i, len - i);
        CHECK(k > 0); /* the output is valid UTF-8 */
        CHECK(c >= 0x20 || (multiline && (c == '\n' || c == '\t')));
        CHECK(c != 0x7f);
        CHECK(!(k == 2 && c == 0xc2 && (unsigned char)out[i + 1] < 0xa0));
        i += k;
    }
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;

    check_result(p, size);
    check_escape(p, size, false);
    check_escape(p, size, true);
    return 0;
}
