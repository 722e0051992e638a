/* fake_daemon: stands in for `irqbpfd --daemon` when tests/package drives the
 * init script, so start/stop/reload/status run for real without a balancer.
 * Like the daemon it forks, and the parent exits only once the child has
 * written --pidfile. The child appends to $FAKE_DAEMON_LOG: one line with its
 * arguments and IRQBALANCE_BANNED_CPULIST, "HUP" per SIGHUP, "TERM" before
 * it removes the pid file and exits on SIGTERM. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int log_fd = -1;
static const char* pidfile = NULL;

static void say(const char* text) {
  if (log_fd >= 0) {
    ssize_t n = write(log_fd, text, strlen(text));
    (void)n;
  }
}

static void on_hup(int sig) {
  (void)sig;
  say("HUP\n");
}

static void on_term(int sig) {
  (void)sig;
  say("TERM\n");
  if (pidfile != NULL) unlink(pidfile);
  _exit(0);
}

int main(int argc, char** argv) {
  int daemonize = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--daemon") == 0) daemonize = 1;
    if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc) pidfile = argv[i + 1];
  }
  const char* log = getenv("FAKE_DAEMON_LOG");
  if (log != NULL) log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (!daemonize || pidfile == NULL) {
    fprintf(stderr, "fake_daemon: needs --daemon --pidfile FILE\n");
    return 2;
  }

  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child > 0) {
    char c;
    close(ready[1]);
    return read(ready[0], &c, 1) == 1 ? 0 : 1;
  }
  close(ready[0]);
  setsid();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, NULL);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);

  char line[4096];
  size_t used = (size_t)snprintf(line, sizeof line, "args:");
  for (int i = 1; i < argc && used < sizeof line; ++i) {
    used += (size_t)snprintf(line + used, sizeof line - used, " %s", argv[i]);
  }
  const char* banned = getenv("IRQBALANCE_BANNED_CPULIST");
  if (used < sizeof line) {
    snprintf(line + used, sizeof line - used, "\nIRQBALANCE_BANNED_CPULIST=%s\n", banned ? banned : "(unset)");
  }
  say(line);

  FILE* f = fopen(pidfile, "w");
  if (f == NULL) return 1;
  fprintf(f, "%d\n", (int)getpid());
  if (fclose(f) != 0) return 1;
  if (write(ready[1], "r", 1) != 1) return 1;
  close(ready[1]);
  for (;;) pause();
}
