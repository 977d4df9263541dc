// A small HTTP/1.1 load client for the benchmark: keep-alive connections, one thread each,
// optionally paced to a fixed total rate, measuring per request the time to the first body byte
// (TTFB) and to the end of the body. Every response must be a 200 whose (de-chunked) body
// contains the --expect string; anything else counts as an error.
//
// Built by bench/run.sh with: cc -O2 -pthread -o BIN bench/httpclient.c
// Prints one JSON object on stdout.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 8

static const char *host = "127.0.0.1";
static int port = 0;
static const char *path = "/v1/chat/completions";
static char *body = NULL;
static size_t body_len = 0;
static const char *headers[MAX_HEADERS];
static int header_count = 0;
static int conns = 10;
static long total_requests = 1000;
static long warmup = 100;
static double rate = 0;  // requests per second in total; 0 = as fast as possible
static const char *expect = NULL;
static int timeout_ms = 30000;
static int get = 0; /* --get: GET the path, no body (for /health) */

static char request_buf[65536];
static size_t request_len;

typedef struct {
    int id;
    long count;
    double *ttfb;
    double *total;
    long done;
    long errors;
    long bad_status;
    long bad_body;
} worker_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_once(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Decodes a chunked body in place of `in` into `out`; returns 1 when the last chunk was seen,
// 0 when more bytes are needed, -1 on a framing error.
static int dechunk(const char *in, size_t len, char *out, size_t *outlen) {
    size_t pos = 0, o = 0;
    while (1) {
        const char *eol = memmem(in + pos, len - pos, "\r\n", 2);
        if (!eol) return 0;
        char *end;
        unsigned long size = strtoul(in + pos, &end, 16);
        if (end == in + pos) return -1;
        size_t data = (size_t)(eol - in) + 2;
        if (size == 0) {
            // Trailers end with an empty line.
            return memmem(in + data - 2, len - (data - 2), "\r\n\r\n", 4) ? 1 : 0;
        }
        if (data + size + 2 > len) return 0;
        memcpy(out + o, in + data, size);
        o += size;
        *outlen = o;
        pos = data + size + 2;
    }
}

// One request on fd. Returns 0 on a transport error (connection to be re-made), 1 otherwise;
// *status is the HTTP status, *ok whether the body matched.
static int one_request(int fd, double *ttfb, double *total, int *status, int *ok) {
    static __thread char buf[1 << 20];
    static __thread char decoded[1 << 20];
    double start = now_s();
    size_t sent = 0;
    while (sent < request_len) {
        ssize_t n = send(fd, request_buf + sent, request_len - sent, MSG_NOSIGNAL);
        if (n <= 0) return 0;
        sent += n;
    }
    size_t len = 0;
    size_t header_end = 0;
    long content_length = -1;
    int chunked = 0;
    double first_body = 0;
    *ok = 0;
    *status = 0;
    while (1) {
        if (len >= sizeof buf - 1) return 0;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) return 0;
        len += n;
        buf[len] = 0;
        if (!header_end) {
            char *he = memmem(buf, len, "\r\n\r\n", 4);
            if (!he) continue;
            header_end = (he - buf) + 4;
            *status = atoi(buf + 9);
            // Headers are case-insensitive.
            for (char *line = strstr(buf, "\r\n") + 2; line < he; line = strstr(line, "\r\n") + 2) {
                if (strncasecmp(line, "content-length:", 15) == 0) content_length = atol(line + 15);
                if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strcasestr(line, "chunked") && strcasestr(line, "chunked") < strstr(line, "\r\n")) chunked = 1;
            }
        }
        if (header_end && !first_body && len > header_end) first_body = now_s();
        if (!header_end) continue;
        if (chunked) {
            size_t outlen = 0;
            int r = dechunk(buf + header_end, len - header_end, decoded, &outlen);
            if (r < 0) return 0;
            if (r == 1) {
                decoded[outlen] = 0;
                *ok = (*status == 200) && (!expect || strstr(decoded, expect) != NULL);
                break;
            }
        } else if (content_length >= 0) {
            if ((long)(len - header_end) >= content_length) {
                *ok = (*status == 200) && (!expect || memmem(buf + header_end, content_length, expect, strlen(expect)) != NULL);
                break;
            }
        } else {
            return 0;  // no framing we support (close-delimited)
        }
    }
    double end = now_s();
    if (!first_body) first_body = end;  // empty body
    *ttfb = (first_body - start) * 1000.0;
    *total = (end - start) * 1000.0;
    return 1;
}

static double start_time;

static void *run_worker(void *arg) {
    worker_t *w = arg;
    int fd = connect_once();
    double interval = rate > 0 ? conns / rate : 0;
    double next = start_time + (rate > 0 ? interval * w->id / conns : 0);
    long attempts = 0;
    long warm = warmup / conns;
    for (long i = 0; i < w->count + warm; i++) {
        if (rate > 0 && i >= warm) {
            double t = now_s();
            if (next > t) {
                struct timespec ts = {(time_t)(next - t), (long)((next - t - (time_t)(next - t)) * 1e9)};
                nanosleep(&ts, NULL);
            }
            next += interval;
        }
        if (fd < 0) fd = connect_once();
        if (fd < 0) {
            if (i >= warm) w->errors++;
            usleep(1000);
            continue;
        }
        double ttfb, total;
        int status, ok;
        attempts++;
        if (!one_request(fd, &ttfb, &total, &status, &ok)) {
            close(fd);
            fd = -1;
            if (i >= warm) w->errors++;
            continue;
        }
        if (i < warm) continue;
        if (status != 200) {
            w->bad_status++;
            continue;
        }
        if (!ok) {
            w->bad_body++;
            continue;
        }
        w->ttfb[w->done] = ttfb;
        w->total[w->done] = total;
        w->done++;
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p) {
    if (n == 0) return 0;
    long i = (long)(p / 100.0 * n + 0.5) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

static void print_stats(const char *name, double *v, long n) {
    qsort(v, n, sizeof *v, cmp);
    double sum = 0;
    for (long i = 0; i < n; i++) sum += v[i];
    printf("\"%s\": {\"p50\": %.4f, \"p90\": %.4f, \"p99\": %.4f, \"mean\": %.4f, \"max\": %.4f}", name,
           pct(v, n, 50), pct(v, n, 90), pct(v, n, 99), n ? sum / n : 0, n ? v[n - 1] : 0);
}

static char *read_file(const char *file, size_t *len) {
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        exit(2);
    }
    char *data = malloc(1 << 20);
    *len = fread(data, 1, (1 << 20) - 1, f);
    data[*len] = 0;
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--host")) host = v, i++;
        else if (!strcmp(a, "--port")) port = atoi(v), i++;
        else if (!strcmp(a, "--path")) path = v, i++;
        else if (!strcmp(a, "--body-file")) body = read_file(v, &body_len), i++;
        else if (!strcmp(a, "--header") && header_count < MAX_HEADERS) headers[header_count++] = v, i++;
        else if (!strcmp(a, "--conns")) conns = atoi(v), i++;
        else if (!strcmp(a, "--requests")) total_requests = atol(v), i++;
        else if (!strcmp(a, "--warmup")) warmup = atol(v), i++;
        else if (!strcmp(a, "--rate")) rate = atof(v), i++;
        else if (!strcmp(a, "--expect")) expect = v, i++;
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = atoi(v), i++;
        else if (!strcmp(a, "--get")) get = 1;
        else {
            fprintf(stderr, "unknown argument %s\n", a);
            return 2;
        }
    }
    if (!port || (!body && !get)) {
        fprintf(stderr, "usage: %s --port P (--body-file F | --get) [--path P] [--header 'k: v'] [--conns N] [--requests N] [--warmup N] [--rate R] [--expect S]\n", argv[0]);
        return 2;
    }
    if (get) body = (char *)"", body_len = 0;
    int n = get
        ? snprintf(request_buf, sizeof request_buf, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", path, host, port)
        : snprintf(request_buf, sizeof request_buf,
                   "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n", path, host, port, body_len);
    for (int i = 0; i < header_count; i++) n += snprintf(request_buf + n, sizeof request_buf - n, "%s\r\n", headers[i]);
    n += snprintf(request_buf + n, sizeof request_buf - n, "\r\n");
    memcpy(request_buf + n, body, body_len);
    request_len = n + body_len;

    worker_t *workers = calloc(conns, sizeof *workers);
    pthread_t *threads = calloc(conns, sizeof *threads);
    long per = total_requests / conns;
    start_time = now_s() + 0.01;
    for (int i = 0; i < conns; i++) {
        workers[i].id = i;
        workers[i].count = per;
        workers[i].ttfb = calloc(per, sizeof(double));
        workers[i].total = calloc(per, sizeof(double));
        pthread_create(&threads[i], NULL, run_worker, &workers[i]);
    }
    long done = 0, errors = 0, bad_status = 0, bad_body = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(threads[i], NULL);
        done += workers[i].done;
        errors += workers[i].errors;
        bad_status += workers[i].bad_status;
        bad_body += workers[i].bad_body;
    }
    double elapsed = now_s() - start_time;
    double *ttfb = calloc(done + 1, sizeof(double)), *total = calloc(done + 1, sizeof(double));
    long k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(ttfb + k, workers[i].ttfb, workers[i].done * sizeof(double));
        memcpy(total + k, workers[i].total, workers[i].done * sizeof(double));
        k += workers[i].done;
    }
    printf("{\"requests\": %ld, \"ok\": %ld, \"transport_errors\": %ld, \"bad_status\": %ld, \"bad_body\": %ld, \"seconds\": %.3f, \"rps\": %.1f, ",
           per * conns, done, errors, bad_status, bad_body, elapsed, done / elapsed);
    print_stats("ttfb_ms", ttfb, done);
    printf(", ");
    print_stats("total_ms", total, done);
    printf("}\n");
    return 0;
}
