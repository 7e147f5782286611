/* Replays corpus files through one fuzz target without libFuzzer, so CI can check the corpus
 * with plain gcc: `fuzz_<target> DIR|FILE...`. One summary line; non-zero exit on a crash. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static const char *prog = "fuzz";
static char current[4096];

/* Says which input crashed before the default action (core, or the sanitizer's report). */
static void on_signal(int sig)
{
	char msg[4300];
	int n = snprintf(msg, sizeof msg, "%s: CRASH (signal %d) on %s\n", prog, sig, current);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg,
		             (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Called by AddressSanitizer before it reports, when the build has it. */
void __asan_on_error(void);
void __asan_on_error(void)
{
	fprintf(stderr, "%s: CRASH (sanitizer) on %s\n", prog, current);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open %s\n", prog, path);
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	/* Exactly size bytes, so a sanitizer sees any read past the input. */
	uint8_t *data = malloc(size ? size : 1);
	if (!data || fread(data, 1, size, f) != size) {
		fprintf(stderr, "%s: cannot read %s\n", prog, path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(current, sizeof current, "%s", path);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int skip_entry(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Files of dir in name order, so runs are reproducible. Returns the count or -1. */
static long run_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, skip_entry, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: cannot list %s\n", prog, dir);
		return -1;
	}
	long count = 0;
	int failed = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (!is_dir(path)) {
			if (run_file(path) == 0)
				count++;
			else
				failed = 1;
		}
		free(names[i]);
	}
	free(names);
	return failed ? -1 : count;
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	prog = slash ? slash + 1 : argv[0];
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", prog);
		return 2;
	}
	static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], on_signal);
	long total = 0;
	for (int i = 1; i < argc; i++) {
		long n = is_dir(argv[i]) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0)
			return 2;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "%s: no inputs in %s\n", prog, argv[1]);
		return 2;
	}
	printf("%s: %ld inputs replayed from %s%s, no crash\n", prog, total, argv[1],
	       argc > 2 ? " ..." : "");
	return 0;
}
