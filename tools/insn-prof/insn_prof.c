// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed per
 * translation block, for scripts/insn-profile.
 *
 * Each time the guest executes the block at trigger=ADDR (a kernel function
 * it calls on purpose: __x64_sys_sync, by running sync(1)), the plugin writes
 * the counts so far to OUT.N, N = 0, 1, ...: one line per block executed,
 * "start ninsns count last" (start and last instruction's address in hex,
 * instructions in the block, times executed). The difference of two
 * snapshots is the profile of what ran between them; under -icount it is
 * also the guest's time.
 *
 * Written against QEMU's plugin API version 1 (QEMU 7.2, Debian 12): only
 * the few functions used are declared here, as that API defines them. Built
 * by scripts/insn-profile with the host's C compiler.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QEMU's plugin API, version 1: the declarations this plugin uses. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
/* Only the leading fields are read (none, in fact): passed by pointer. */
typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
		void (*cb)(unsigned int vcpu, void *udata),
		enum qemu_plugin_cb_flags flags, void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One translation block, by start address and length. */
struct block {
	uint64_t start;
	uint64_t count;		/* executions, added to by translated code */
	uint64_t last;		/* address of its last instruction */
	uint32_t ninsns;
	uint32_t used;
};

/*
 * Open addressing, never shrunk: a guest kernel with a few programs
 * translates some 10^5 distinct blocks. The counts are added to without
 * atomics: under -icount the vCPUs run in turn on one host thread.
 */
#define SLOTS (1u << 21)
static struct block *table;
static uint64_t trigger;
static const char *out = "insn-prof";
static unsigned int snapshots;

static struct block *lookup(uint64_t start, uint32_t ninsns)
{
	uint64_t h = (start * 0x9E3779B97F4A7C15ull) ^ ninsns;

	for (uint32_t i = 0; i < SLOTS; i++) {
		struct block *b = &table[(h + i) & (SLOTS - 1)];

		if (!b->used) {
			b->used = 1;
			b->start = start;
			b->ninsns = ninsns;
			return b;
		}
		if (b->start == start && b->ninsns == ninsns)
			return b;
	}
	return NULL;
}

static void snapshot(unsigned int vcpu, void *udata)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%u", out, snapshots++);
	f = fopen(path, "w");
	if (!f)
		return;
	for (uint32_t i = 0; i < SLOTS; i++) {
		const struct block *b = &table[i];

		if (b->used && b->count)
			fprintf(f, "%" PRIx64 " %u %" PRIu64 " %" PRIx64 "\n",
				b->start, b->ninsns, b->count, b->last);
	}
	fclose(f);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t start = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct block *b = lookup(start, n);

	if (b && n) {
		b->last = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, n - 1));
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							 &b->count, 1);
	}
	if (trigger && start == trigger)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, snapshot,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
}

/* Arguments: trigger=ADDR (hex), out=PREFIX (snapshots go to PREFIX.N). */
__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
		    char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "trigger=", 8))
			trigger = strtoull(argv[i] + 8, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			out = strdup(argv[i] + 4);
	}
	table = calloc(SLOTS, sizeof(*table));
	if (!table || !out)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	return 0;
}
