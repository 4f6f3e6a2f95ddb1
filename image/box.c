/* SPDX-License-Identifier: MIT */
/*
 * mhcl-box: the image's programs in one static binary, chosen by the name it is run as
 * (image/mkinitrd.sh links each program's path to it).
 *
 * Every static program carries its own copy of what they all use (libc, libuv,
 * protobuf-c, libseccomp, mhcl's libraries): some 400 KiB each, eight times over in the
 * initrd, which stays in RAM for good, and in each process's own resident text. One
 * binary holds that code once in the initrd, and the processes share its pages. Each
 * server still runs as its own process, uid and seccomp allow-list: the box changes
 * which file they are executed from, nothing of how they are confined. The builds for
 * development and the tests keep one binary per program.
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"

int box_main_init(int argc, char **argv);
int box_main_diagd(int argc, char **argv);
int box_main_sidecard(int argc, char **argv);
int box_main_vmbusd(int argc, char **argv);
int box_main_icd(int argc, char **argv);
int box_main_storaged(int argc, char **argv);
int box_main_netd(int argc, char **argv);
int box_main_vp(int argc, char **argv);

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} programs[] = {
    {"mhcl-init", box_main_init},	  {"mhcl-diagd", box_main_diagd},
    {"mhcl-sidecard", box_main_sidecard}, {"mhcl-vmbusd", box_main_vmbusd},
    {"mhcl-icd", box_main_icd},		  {"mhcl-storaged", box_main_storaged},
    {"mhcl-netd", box_main_netd},	  {"mhcl-vp", box_main_vp},
};

int main(int argc, char **argv)
{
	/* basename may modify its argument: argv[0] stays what the program sees. */
	char self[256];
	snprintf(self, sizeof(self), "%s", argc > 0 && argv[0] ? argv[0] : "");
	const char *name = basename(self);
	for (size_t i = 0; i < ARRAY_SIZE(programs); i++)
		if (strcmp(name, programs[i].name) == 0)
			return programs[i].main(argc, argv);
	fprintf(stderr, "mhcl-box: run as one of:");
	for (size_t i = 0; i < ARRAY_SIZE(programs); i++)
		fprintf(stderr, " %s", programs[i].name);
	fprintf(stderr, " (not \"%s\")\n", name);
	return 2;
}
