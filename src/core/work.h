/* SPDX-License-Identifier: MIT */
/*
 * A small pool of worker threads for CPU-heavy steps (password hashing) that must not stall the
 * event loop. A job's work function runs on a worker; its done function runs afterwards on the
 * loop thread, where it may touch sessions and the database.
 */
#ifndef SB_CORE_WORK_H
#define SB_CORE_WORK_H

#include <stdbool.h>
#include <stddef.h>

/** typedef work_fn - runs on a worker thread; must not touch loop state. */
typedef void (*work_fn)(void *arg);
/** typedef work_done_fn - runs on the loop thread; @ran is false if the pool shut down before
 * the job ran. It owns @arg from then on. */
typedef void (*work_done_fn)(void *arg, bool ran);

/** work_init() - start @nthreads workers; at most @max_queue jobs may wait. 0 or -1. */
int work_init(unsigned nthreads, size_t max_queue);

/** work_submit() - queue a job. Return: false if the queue is full (the job is not taken). */
bool work_submit(work_fn fn, work_done_fn done, void *arg);

/** work_shutdown() - finish running jobs, cancel waiting ones (done with ran=false), join. */
void work_shutdown(void);

#endif
