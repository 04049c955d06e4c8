#include "shutdown.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Lock-free atomics rather than volatile sig_atomic_t: they are as safe in
 * a signal handler and, unlike it, well-defined when other threads read them. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free for signal handlers");
static atomic_int requested;
static atomic_int requesting_signal;
/* The self-pipe: [0] is polled by the program, [1] written on request. */
static atomic_int wake_read_fd = -1;
static atomic_int wake_write_fd = -1;

/* The pipe is never drained, so one byte keeps it readable; a full pipe
 * (EAGAIN) is therefore fine. */
static void wake_pollers(void)
{
    int fd = atomic_load(&wake_write_fd);
    if (fd >= 0) {
        ssize_t ignored = write(fd, "x", 1);
        (void)ignored;
    }
}

/* The signal handler; async-signal-safe. signo 0 is a request from the
 * program itself. */
static void mark_requested(int signo)
{
    int saved_errno = errno;
    atomic_store(&requested, 1);
    if (signo)
        atomic_store(&requesting_signal, signo);
    wake_pollers();
    errno = saved_errno;
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int open_wake_pipe(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    if (set_flags(fds[0]) < 0 || set_flags(fds[1]) < 0) {
        int saved_errno = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved_errno;
        return -1;
    }
    atomic_store(&wake_read_fd, fds[0]);
    atomic_store(&wake_write_fd, fds[1]);
    return 0;
}

static int install_handler(int signo, void (*handler)(int))
{
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

int cw_shutdown_install(void)
{
    if (atomic_load(&wake_read_fd) < 0 && open_wake_pipe() < 0)
        return -1;
    /* A request made before the pipe existed still has to wake pollers. */
    if (cw_shutdown_requested())
        wake_pollers();
    if (install_handler(SIGTERM, mark_requested) < 0 ||
        install_handler(SIGINT, mark_requested) < 0 || install_handler(SIGPIPE, SIG_IGN) < 0)
        return -1;
    return 0;
}

int cw_shutdown_requested(void)
{
    return atomic_load(&requested) != 0;
}

int cw_shutdown_signal(void)
{
    return atomic_load(&requesting_signal);
}

void cw_shutdown_request(void)
{
    mark_requested(0);
}

int cw_shutdown_fd(void)
{
    return atomic_load(&wake_read_fd);
}

static void sleep_briefly(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int cw_shutdown_sleep_ms(int ms)
{
    if (ms <= 0 || cw_shutdown_requested())
        return cw_shutdown_requested();
    int fd = cw_shutdown_fd();
    if (fd < 0) {
        sleep_briefly(ms);
        return cw_shutdown_requested();
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    poll(&pfd, 1, ms);
    return cw_shutdown_requested();
}
