/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the word-frequency data files and the table built from them. Every word
 * wordlist_parse() hands over passes words_valid_entry(); an error has a line inside the file and
 * a reason; the estimate bounds the entries. wf_table_build() then agrees with a naive model of
 * the same entries: it fails exactly when the parse fails, a word folds to more than WORDS_MAX
 * bytes, the counts overflow or there are no words (with the parser's own error when that is the
 * cause), and otherwise holds each distinct folded word with the sum of its counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/wordlist.h"
#include "proto/words.h"
#include "services/wordfreq/table.h"

static const char REFUSED[] = "refused by the harness";

struct entry {
    size_t n;
    uint64_t count;
    char w[WORDS_MAX];
};

/* The model: the folded entries, and whether (and where) the table must refuse one. */
struct model {
    struct entry *e;
    size_t n, cap;
    uint64_t total;
    bool refused;     /* an entry the table refuses: too long folded, or the total overflows */
    size_t refuse_at; /* for the second parse: refuse entry number refuse_at (1-based) */
    size_t seen;
};

static const char *
model_add(void *arg, const char *word, size_t n, uint64_t count)
{
    struct model *m = arg;

    CHECK(n >= 1 && n <= WORDS_MAX);
    CHECK(words_valid_entry(word, n) == NULL);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->e = realloc(m->e, m->cap * sizeof(*m->e));
        CHECK(m->e != NULL);
    }
    struct entry *e = &m->e[m->n++];
    e->n = words_fold(word, n, e->w, sizeof(e->w));
    e->count = count;
    if (!m->refused && (e->n == 0 || m->total > UINT64_MAX - count)) {
        m->refused = true;
    }
    if (!m->refused) {
        m->total += count;
    }
    return NULL;
}

static const char *
refuse_one(void *arg, const char *word, size_t n, uint64_t count)
{
    struct model *m = arg;

    return ++m->seen == m->refuse_at ? REFUSED : NULL;
}

static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->n != y->n) {
        return x->n < y->n ? -1 : 1;
    }
    return memcmp(x->w, y->w, x->n);
}

static void
check_error(const struct wordlist_error *err, unsigned long lines)
{
    CHECK(memchr(err->why, '\0', sizeof(err->why)) != NULL);
    CHECK(err->why[0] != '\0');
    CHECK(err->line <= lines);
}

/* The table holds exactly the model's words with their summed counts. */
static void
check_table(const struct wf_table *t, struct model *m)
{
    size_t groups = 0;

    CHECK(wf_table_words(t) <= m->n);
    CHECK(wf_table_total(t) == m->total);
    qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
    for (size_t i = 0; i < m->n;) {
        size_t j = i;
        uint64_t sum = 0;
        while (j < m->n && entry_cmp(&m->e[i], &m->e[j]) == 0) {
            sum += m->e[j++].count;
        }
        char *w = exact(m->e[i].w, m->e[i].n);
        CHECK(wf_table_count(t, w, m->e[i].n) == sum);
        free(w);
        groups++;
        i = j;
    }
    CHECK(wf_table_words(t) == groups);
    /* Words that cannot be there. */
    CHECK(wf_table_count(t, "a\tb", 3) == 0);
    CHECK(wf_table_count(t, "", 0) == 0);
    char big[WORDS_MAX + 1];
    memset(big, 'a', sizeof(big));
    CHECK(wf_table_count(t, big, sizeof(big)) == 0);
    CHECK(wf_table_memory(t) > wf_table_words(t));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = exact((const char *)data, size);
    unsigned long lines = 1;
    struct model m = {0};
    struct wordlist_error perr, terr;

    for (size_t i = 0; i < size; i++) {
        lines += buf[i] == '\n';
    }

    long r = wordlist_parse(buf, size, model_add, &m, &perr);
    if (r >= 0) {
        CHECK((size_t)r == m.n);
        CHECK(wordlist_estimate(buf, size) >= m.n);
    } else {
        CHECK(r == -1);
        check_error(&perr, lines);
        CHECK(perr.line >= 1);
    }

    struct wf_table *t = wf_table_build(buf, size, &terr);
    if (t != NULL) {
        CHECK(r > 0 && !m.refused);
        CHECK(wf_table_format(t) == wordlist_detect(buf, size));
        check_table(t, &m);
        wf_table_free(t);
    } else {
        check_error(&terr, lines);
        if (r > 0) {
            CHECK(m.refused);
            CHECK(terr.line >= 1);
        } else if (r == 0) {
            CHECK(terr.line == 0);
        } else if (!m.refused) {
            /* The parser's error, as it gave it. */
            CHECK(terr.line == perr.line);
            CHECK(strcmp(terr.why, perr.why) == 0);
        } else {
            CHECK(terr.line >= 1);
        }
    }

    /* A callback refusing the last entry stops the parse there, with its reason. */
    if (r > 0) {
        struct model refuse = {.refuse_at = (size_t)r};
        struct wordlist_error rerr;
        CHECK(wordlist_parse(buf, size, refuse_one, &refuse, &rerr) == -1);
        CHECK(refuse.seen == (size_t)r);
        check_error(&rerr, lines);
        CHECK(rerr.line >= 1);
        CHECK(strcmp(rerr.why, REFUSED) == 0);
    }

    free(m.e);
    free(buf);
    return 0;
}
