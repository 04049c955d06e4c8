#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shutdown.h"

/* Generous bounds: the tests also run under valgrind, which is slow. */
#define LONG_SLEEP_MS 30000
#define EARLY_ENOUGH_MS 10000

/* The shutdown state is process-wide and one-way, so each scenario runs in
 * a forked child with fresh state. A child reports failure through its exit
 * status: a cmocka assertion there would longjmp into the child's copy of
 * the runner and go on to run the remaining tests. */
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            _exit(1);                                                                      \
        }                                                                                  \
    } while (0)

static void run_in_child(void (*scenario)(void))
{
    assert_int_equal(fflush(NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        scenario();
        _exit(0);
    }
    int status = 0;
    pid_t waited;
    do
        waited = waitpid(pid, &status, 0);
    while (waited < 0 && errno == EINTR);
    assert_int_equal(waited, pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fd_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, 0);
    CHECK(n >= 0);
    return n == 1 && (pfd.revents & POLLIN);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        CHECK(errno == EINTR);
}

static void install_fresh(void)
{
    CHECK(cw_shutdown_install() == 0);
    CHECK(cw_shutdown_fd() >= 0);
    CHECK(!cw_shutdown_requested());
    CHECK(cw_shutdown_signal() == 0);
    CHECK(!fd_readable(cw_shutdown_fd()));
}

static void scenario_install(void)
{
    CHECK(cw_shutdown_fd() == -1);
    install_fresh();
    int fd = cw_shutdown_fd();
    CHECK(cw_shutdown_install() == 0);
    CHECK(cw_shutdown_fd() == fd);
}

static void test_install_is_idempotent(void **state)
{
    (void)state;
    run_in_child(scenario_install);
}

static void scenario_sigterm(void)
{
    install_fresh();
    CHECK(raise(SIGTERM) == 0);
    CHECK(cw_shutdown_requested());
    CHECK(cw_shutdown_signal() == SIGTERM);
    CHECK(fd_readable(cw_shutdown_fd()));
    CHECK(fd_readable(cw_shutdown_fd()));
}

static void test_sigterm_sets_requested_and_wakes_fd(void **state)
{
    (void)state;
    run_in_child(scenario_sigterm);
}

static void scenario_sigint(void)
{
    install_fresh();
    CHECK(raise(SIGINT) == 0);
    CHECK(cw_shutdown_requested());
    CHECK(cw_shutdown_signal() == SIGINT);
    CHECK(fd_readable(cw_shutdown_fd()));
}

static void test_sigint_sets_requested(void **state)
{
    (void)state;
    run_in_child(scenario_sigint);
}

static void scenario_request(void)
{
    install_fresh();
    cw_shutdown_request();
    CHECK(cw_shutdown_requested());
    CHECK(cw_shutdown_signal() == 0);
    CHECK(fd_readable(cw_shutdown_fd()));
}

static void test_request_from_program(void **state)
{
    (void)state;
    run_in_child(scenario_request);
}

static void scenario_request_before_install(void)
{
    cw_shutdown_request();
    CHECK(cw_shutdown_requested());
    CHECK(cw_shutdown_install() == 0);
    CHECK(fd_readable(cw_shutdown_fd()));
}

static void test_request_before_install_still_wakes_fd(void **state)
{
    (void)state;
    run_in_child(scenario_request_before_install);
}

static void scenario_sleep_full(void)
{
    install_fresh();
    int64_t start = now_ms();
    CHECK(cw_shutdown_sleep_ms(50) == 0);
    CHECK(now_ms() - start >= 45);
    CHECK(cw_shutdown_sleep_ms(0) == 0);
    CHECK(cw_shutdown_sleep_ms(-1) == 0);
}

static void test_sleep_runs_full_length_without_request(void **state)
{
    (void)state;
    run_in_child(scenario_sleep_full);
}

static void scenario_sleep_after_request(void)
{
    install_fresh();
    CHECK(raise(SIGTERM) == 0);
    int64_t start = now_ms();
    CHECK(cw_shutdown_sleep_ms(LONG_SLEEP_MS) == 1);
    CHECK(now_ms() - start < EARLY_ENOUGH_MS);
}

static void test_sleep_returns_at_once_when_requested(void **state)
{
    (void)state;
    run_in_child(scenario_sleep_after_request);
}

/* raise() in this thread runs the handler here, so the sleeping main thread
 * is not interrupted by the signal and can only be woken through the fd. */
static void *sigterm_later(void *arg)
{
    (void)arg;
    sleep_ms(100);
    CHECK(raise(SIGTERM) == 0);
    return NULL;
}

static void scenario_sleep_woken(void)
{
    install_fresh();
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sigterm_later, NULL) == 0);
    int64_t start = now_ms();
    int requested = cw_shutdown_sleep_ms(LONG_SLEEP_MS);
    int64_t elapsed = now_ms() - start;
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(requested == 1);
    CHECK(elapsed < EARLY_ENOUGH_MS);
    CHECK(cw_shutdown_signal() == SIGTERM);
}

static void test_sleep_returns_early_on_sigterm_in_other_thread(void **state)
{
    (void)state;
    run_in_child(scenario_sleep_woken);
}

static void scenario_sleep_without_fd(void)
{
    int64_t start = now_ms();
    CHECK(cw_shutdown_sleep_ms(30) == 0);
    CHECK(now_ms() - start >= 25);
    cw_shutdown_request();
    start = now_ms();
    CHECK(cw_shutdown_sleep_ms(LONG_SLEEP_MS) == 1);
    CHECK(now_ms() - start < EARLY_ENOUGH_MS);
}

static void test_sleep_before_install(void **state)
{
    (void)state;
    run_in_child(scenario_sleep_without_fd);
}

static void scenario_sigpipe_ignored(void)
{
    install_fresh();
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(close(fds[0]) == 0);
    CHECK(write(fds[1], "x", 1) == -1);
    CHECK(errno == EPIPE);
    CHECK(close(fds[1]) == 0);
    CHECK(!cw_shutdown_requested());
}

static void test_sigpipe_is_ignored(void **state)
{
    (void)state;
    run_in_child(scenario_sigpipe_ignored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_is_idempotent),
        cmocka_unit_test(test_sigterm_sets_requested_and_wakes_fd),
        cmocka_unit_test(test_sigint_sets_requested),
        cmocka_unit_test(test_request_from_program),
        cmocka_unit_test(test_request_before_install_still_wakes_fd),
        cmocka_unit_test(test_sleep_runs_full_length_without_request),
        cmocka_unit_test(test_sleep_returns_at_once_when_requested),
        cmocka_unit_test(test_sleep_returns_early_on_sigterm_in_other_thread),
        cmocka_unit_test(test_sleep_before_install),
        cmocka_unit_test(test_sigpipe_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
