/* carewatch-loadgen: an open-loop HTTP/1.1 load generator for benchmarks.
 *
 * Reads requests from a file, one per line: "METHOD PATH<TAB>BODY". Request
 * i is due at start + i / rate; its latency runs from that due time, not
 * from when a connection was free to send it, so a slow server cannot hide
 * its queueing (no coordinated omission). With --rate 0 the load is closed
 * loop instead: each connection sends the next request when the previous
 * one is answered, which measures throughput.
 *
 * Prints one JSON object: counts by status, the achieved rate and latency
 * percentiles. --log writes one line per request (index, due and answered
 * times in Unix milliseconds, status) for matching with downstream records.
 *
 * Single-threaded: poll() over the connections. Memory: the request file
 * is read whole (owned by main), one receive buffer per connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define RECV_BUF 65536

typedef struct {
    const char *method, *path, *body;
    size_t method_len, path_len, body_len;
} request;

typedef struct {
    int fd;
    long busy;         /* index of the request in flight, -1 when idle */
    char *sent;        /* the request's bytes (owned) */
    size_t sent_len, sent_off;
    double sent_at; /* seconds since the start */
    char buf[RECV_BUF];
    size_t got;
} connection;

typedef struct {
    struct sockaddr_in addr;
    char host[64];
    char auth[320];
    double rate;
    double duration_s;
    int connections;
    FILE *log;
} options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *grown = realloc(data, cap);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        size_t n = fread(data + *len, 1, 65536, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    data[*len] = '\0';
    return data;
}

/* Splits data into requests (pointers into data). Returns how many, or -1
 * with the bad line's number in *bad. */
static long parse_requests(char *data, size_t len, request **out, long *bad)
{
    long n = 0, cap = 0, line = 0;
    request *reqs = NULL;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        line++;
        if (stop > p) {
            char *sp = memchr(p, ' ', (size_t)(stop - p));
            char *tab = sp ? memchr(sp, '\t', (size_t)(stop - sp)) : NULL;
            if (!sp || !tab) {
                free(reqs);
                *bad = line;
                return -1;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                request *grown = realloc(reqs, (size_t)cap * sizeof(*reqs));
                if (!grown) {
                    free(reqs);
                    *bad = 0;
                    return -1;
                }
                reqs = grown;
            }
            reqs[n++] = (request){.method = p, .method_len = (size_t)(sp - p), .path = sp + 1,
                                  .path_len = (size_t)(tab - sp - 1), .body = tab + 1,
                                  .body_len = (size_t)(stop - tab - 1)};
        }
        p = nl ? nl + 1 : end;
    }
    *out = reqs;
    return n;
}

static int connect_to(const options *o)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int start_request(connection *c, const options *o, const request *r, long index)
{
    size_t cap = r->method_len + r->path_len + r->body_len + strlen(o->auth) + 256;
    c->sent = malloc(cap);
    if (!c->sent)
        return -1;
    int n = snprintf(c->sent, cap,
                     "%.*s %.*s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     (int)r->method_len, r->method, (int)r->path_len, r->path, o->host, o->auth,
                     r->body_len);
    if (n < 0 || (size_t)n + r->body_len >= cap) {
        free(c->sent);
        c->sent = NULL;
        return -1;
    }
    memcpy(c->sent + n, r->body, r->body_len);
    c->sent_len = (size_t)n + r->body_len;
    c->sent_off = 0;
    c->busy = index;
    c->got = 0;
    return 0;
}

/* A whole response in the buffer: its status, whether the server closes
 * the connection after it, and how many bytes it took; 0 while incomplete. */
static size_t complete_response(const connection *c, int *status, int *closes)
{
    const char *head_end = NULL;
    for (size_t i = 3; i < c->got; i++) {
        if (memcmp(c->buf + i - 3, "\r\n\r\n", 4) == 0) {
            head_end = c->buf + i + 1;
            break;
        }
    }
    if (!head_end)
        return 0;
    *status = atoi(c->buf + 9);
    *closes = 0;
    size_t body = 0;
    for (const char *p = c->buf; p < head_end; p++) {
        if (*p != '\n')
            continue;
        if (strncasecmp(p + 1, "Content-Length:", 15) == 0)
            body = strtoul(p + 16, NULL, 10);
        else if (strncasecmp(p + 1, "Connection: close", 17) == 0)
            *closes = 1;
    }
    size_t total = (size_t)(head_end - c->buf) + body;
    return total <= c->got ? total : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, long n, double q)
{
    if (n == 0)
        return 0;
    long i = (long)(q * (double)(n - 1) + 0.5);
    return sorted[i];
}

static void usage(void)
{
    fprintf(stderr, "usage: carewatch-loadgen --target HOST:PORT --requests FILE [--rate R] "
                    "[--connections N] [--key KEY] [--duration S] [--log FILE]\n");
}

static int parse_options(int argc, char **argv, options *o, const char **file)
{
    static const struct option longs[] = {
        {"target", required_argument, 0, 't'},   {"requests", required_argument, 0, 'r'},
        {"rate", required_argument, 0, 'R'},     {"connections", required_argument, 0, 'c'},
        {"key", required_argument, 0, 'k'},      {"duration", required_argument, 0, 'd'},
        {"log", required_argument, 0, 'l'},      {0, 0, 0, 0}};
    const char *target = NULL;
    *file = NULL;
    memset(o, 0, sizeof(*o));
    o->connections = 16;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 't': target = optarg; break;
        case 'r': *file = optarg; break;
        case 'R': o->rate = atof(optarg); break;
        case 'c': o->connections = atoi(optarg); break;
        case 'd': o->duration_s = atof(optarg); break;
        case 'k': snprintf(o->auth, sizeof(o->auth), "Authorization: Bearer %s\r\n", optarg); break;
        case 'l':
            o->log = fopen(optarg, "w");
            if (!o->log) {
                fprintf(stderr, "cannot write %s\n", optarg);
                return -1;
            }
            break;
        default: usage(); return -1;
        }
    }
    if (!target || !*file || o->connections < 1 || o->connections > MAX_CONNECTIONS ||
        o->rate < 0) {
        usage();
        return -1;
    }
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof(o->host)) {
        fprintf(stderr, "--target: expected HOST:PORT\n");
        return -1;
    }
    snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - target), target);
    o->addr.sin_family = AF_INET;
    o->addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, o->host, &o->addr.sin_addr) != 1) {
        fprintf(stderr, "--target: %s is not an IPv4 address\n", o->host);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    const char *file;
    if (parse_options(argc, argv, &o, &file) != 0)
        return 2;
    size_t len;
    char *data = read_file(file, &len);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", file);
        return 2;
    }
    request *reqs = NULL;
    long bad = 0;
    long total = parse_requests(data, len, &reqs, &bad);
    if (total <= 0) {
        fprintf(stderr, "%s: %s %ld\n", file, total == 0 ? "no requests" : "bad line", bad);
        free(data);
        return 2;
    }
    if (o.rate > 0 && o.duration_s > 0 && (long)(o.rate * o.duration_s) < total)
        total = (long)(o.rate * o.duration_s);

    connection *conns = calloc((size_t)o.connections, sizeof(*conns));
    double *latency_ms = calloc((size_t)total, sizeof(double));
    struct pollfd *fds = calloc((size_t)o.connections, sizeof(*fds));
    if (!conns || !latency_ms || !fds) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    for (int i = 0; i < o.connections; i++) {
        conns[i].busy = -1;
        conns[i].fd = connect_to(&o);
        if (conns[i].fd < 0) {
            fprintf(stderr, "cannot connect to %s:%d: %s\n", o.host, ntohs(o.addr.sin_port),
                    strerror(errno));
            return 1;
        }
    }

    long next = 0, done = 0, errors = 0, by_class[6] = {0};
    double start = now_s();
    double start_unix = unix_ms();
    while (done < total) {
        double t = now_s() - start;
        /* Hand due requests to idle connections. */
        for (int i = 0; i < o.connections && next < total; i++) {
            if (conns[i].busy >= 0)
                continue;
            if (o.rate > 0 && (double)next / o.rate > t)
                break;
            conns[i].sent_at = t;
            if (start_request(&conns[i], &o, &reqs[next], next) != 0) {
                fprintf(stderr, "out of memory\n");
                return 2;
            }
            next++;
        }
        int timeout = 50;
        if (o.rate > 0 && next < total) {
            double wait = (double)next / o.rate - (now_s() - start);
            timeout = wait <= 0 ? 0 : (int)(wait * 1000.0);
        }
        for (int i = 0; i < o.connections; i++) {
            fds[i].fd = conns[i].busy >= 0 ? conns[i].fd : -1;
            fds[i].events = conns[i].sent_off < conns[i].sent_len ? POLLOUT : POLLIN;
            fds[i].revents = 0;
        }
        if (poll(fds, (nfds_t)o.connections, timeout) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        for (int i = 0; i < o.connections; i++) {
            connection *c = &conns[i];
            if (c->busy < 0 || fds[i].revents == 0)
                continue;
            if (c->sent_off < c->sent_len) {
                ssize_t n = send(c->fd, c->sent + c->sent_off, c->sent_len - c->sent_off,
                                 MSG_NOSIGNAL);
                if (n > 0)
                    c->sent_off += (size_t)n;
                else if (n < 0 && errno != EAGAIN)
                    goto broken;
                continue;
            }
            ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                goto broken;
            if (n < 0)
                continue;
            c->got += (size_t)n;
            int status = 0, closes = 0;
            if (complete_response(c, &status, &closes) == 0) {
                if (c->got == sizeof(c->buf))
                    goto broken; /* a response larger than the buffer */
                continue;
            }
            {
                /* Open loop: from when it was due; closed loop: from its send. */
                double due_s = o.rate > 0 ? (double)c->busy / o.rate : c->sent_at;
                double answered = now_s() - start;
                latency_ms[done] = (answered - due_s) * 1000.0;
                if (o.log)
                    fprintf(o.log, "%ld %.3f %.3f %d\n", c->busy, start_unix + due_s * 1000.0,
                            start_unix + answered * 1000.0, status);
                by_class[status / 100 < 6 ? status / 100 : 0]++;
                done++;
                free(c->sent);
                c->sent = NULL;
                c->busy = -1;
                if (closes) {
                    close(c->fd);
                    c->fd = connect_to(&o);
                    if (c->fd < 0)
                        return 1;
                }
            }
            continue;
        broken:
            errors++;
            done++;
            latency_ms[done - 1] = (now_s() - start - c->sent_at) * 1000.0;
            free(c->sent);
            c->sent = NULL;
            c->busy = -1;
            close(c->fd);
            c->fd = connect_to(&o);
            if (c->fd < 0)
                return 1;
        }
    }
    double elapsed = now_s() - start;
    qsort(latency_ms, (size_t)done, sizeof(double), cmp_double);
    printf("{\"requests\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"target_rate\":%.1f,"
           "\"2xx\":%ld,\"4xx\":%ld,\"5xx\":%ld,\"errors\":%ld,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
           done, elapsed, (double)done / elapsed, o.rate, by_class[2], by_class[4], by_class[5],
           errors, percentile(latency_ms, done, 0.50), percentile(latency_ms, done, 0.99),
           percentile(latency_ms, done, 0.999), done ? latency_ms[done - 1] : 0);
    for (int i = 0; i < o.connections; i++) {
        close(conns[i].fd);
        free(conns[i].sent);
    }
    if (o.log)
        fclose(o.log);
    free(fds);
    free(latency_ms);
    free(conns);
    free(reqs);
    free(data);
    return errors > 0 ? 1 : 0;
}
