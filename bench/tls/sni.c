/* LD_PRELOAD for wrk: send BENCH_SNI as the TLS server name (wrk sends its URL's host,
 * 127.0.0.1), so no /etc/hosts entry is needed. 55 is SSL_CTRL_SET_TLSEXT_HOSTNAME. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
typedef struct ssl_st SSL;
long SSL_ctrl(SSL *, int, long, void *);

long SSL_ctrl(SSL *s, int cmd, long larg, void *parg) {
  static long (*real)(SSL *, int, long, void *);
  if (!real) real = (long (*)(SSL *, int, long, void *))dlsym(RTLD_NEXT, "SSL_ctrl");
  const char *sni = getenv("BENCH_SNI");
  if (cmd == 55 && sni) parg = (void *)sni;
  return real(s, cmd, larg, parg);
}
