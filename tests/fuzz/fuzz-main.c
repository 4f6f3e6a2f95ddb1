/* SPDX-License-Identifier: MIT */
/*
 * Runs a libFuzzer target without libFuzzer: replays every file of the
 * corpus folders given on the command line, then a fixed-seed batch of
 * mutations of each (bit flips, truncations, splices, random lengths), so
 * every fuzz target is also a deterministic regression test in `make test`.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUTATIONS_PER_FILE 2000
#define FUZZ_MAX_INPUT (256 * 1024)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic across runs, good enough to mutate bytes. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void mutate_and_run(const uint8_t *seed, size_t len)
{
	static uint8_t buf[FUZZ_MAX_INPUT];

	for (int i = 0; i < MUTATIONS_PER_FILE; i++) {
		size_t n = len;
		memcpy(buf, seed, n);
		int edits = 1 + (int)(rng() % 4);
		for (int e = 0; e < edits; e++) {
			switch (rng() % 5) {
			case 0: /* flip a bit */
				if (n)
					buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1: /* set a byte to an interesting value */
				if (n) {
					static const uint8_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40};
					buf[rng() % n] = vals[rng() % sizeof(vals)];
				}
				break;
			case 2: /* truncate */
				if (n)
					n = rng() % n;
				break;
			case 3: /* extend with random bytes */
				while (n < FUZZ_MAX_INPUT && rng() % 8)
					buf[n++] = (uint8_t)rng();
				break;
			case 4: /* overwrite a 32-bit word */
				if (n >= 4) {
					uint32_t v = (uint32_t)rng();
					if (rng() % 2)
						v = 0xffffffffu >> (rng() % 32);
					memcpy(buf + rng() % (n - 3), &v, 4);
				}
				break;
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
}

static int run_file(const char *path)
{
	static uint8_t data[FUZZ_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t len = fread(data, 1, sizeof(data), f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	mutate_and_run(data, len);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			files++;
			continue;
		}
		struct dirent **ents;
		int n = scandir(argv[i], &ents, NULL, alphasort);
		if (n < 0) {
			perror(argv[i]);
			return 1;
		}
		for (int j = 0; j < n; j++) {
			if (ents[j]->d_name[0] != '.') {
				char p[4096];
				snprintf(p, sizeof(p), "%s/%s", argv[i], ents[j]->d_name);
				if (run_file(p) < 0)
					return 1;
				files++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	/* An empty input must be handled too. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("replayed %d corpus files with %d mutations each\n", files, MUTATIONS_PER_FILE);
	return files > 0 ? 0 : 1;
}
