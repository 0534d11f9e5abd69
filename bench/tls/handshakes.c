/*
 * The handshake client of `npm run bench:tls`: THREADS blocking threads, each opening one new
 * connection after another for SECONDS: a full TLS handshake (no session is kept or offered),
 * GET / with `Connection: close`, the answer read to its end. Blocking threads wait in the
 * kernel, where wrk busy-polls while a handshake is under way (it waits for "writable" and
 * retries SSL_connect), taking CPU from the server it measures on a small machine.
 *
 * Prints: connections N failed N resumed N seconds S rate R  (rate: answered 200s a second)
 * Usage: handshakes IP PORT SNI THREADS SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *ip, *sni;
static int port;
static double deadline;
static char req[512];
static SSL_CTX *ctx;
static unsigned long ok, failed, resumed;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* One connection; 1 when it was answered 200. */
static int once(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, good = 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct timeval tv = {.tv_sec = 5};
  inet_pton(AF_INET, ip, &a.sin_addr);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    usleep(1000);
    return 0;
  }
  SSL *s = SSL_new(ctx);
  SSL_set_fd(s, fd);
  SSL_set_tlsext_host_name(s, sni);
  if (SSL_connect(s) == 1 && SSL_write(s, req, strlen(req)) > 0) {
    char head[12], buf[4096];
    int n, got = 0;
    while ((n = SSL_read(s, buf, sizeof buf)) > 0) {
      for (int i = 0; i < n && got < 12; i++) head[got++] = buf[i];
    }
    good = got == 12 && memcmp(head, "HTTP/1.1 200", 12) == 0;
    if (SSL_session_reused(s)) __atomic_fetch_add(&resumed, 1, __ATOMIC_RELAXED);
  }
  SSL_free(s);
  close(fd);
  return good;
}

static void *run(void *arg) {
  (void)arg;
  while (now() < deadline) __atomic_fetch_add(once() ? &ok : &failed, 1, __ATOMIC_RELAXED);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: handshakes IP PORT SNI THREADS SECONDS\n");
    return 2;
  }
  ip = argv[1];
  port = atoi(argv[2]);
  sni = argv[3];
  int threads = atoi(argv[4]);
  if (threads < 1 || threads > 256) threads = 16;
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", sni);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  pthread_t t[256];
  double start = now();
  deadline = start + atof(argv[5]);
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  double took = now() - start;
  printf("connections %lu failed %lu resumed %lu seconds %.3f rate %.1f\n", ok, failed, resumed,
         took, ok / took);
  return 0;
}
