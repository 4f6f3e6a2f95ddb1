/* SPDX-License-Identifier: MIT */
/*
 * NVMe wire layouts the userspace driver (lib/nvme) uses: controller registers, the
 * 64-byte submission and 16-byte completion entries, Identify Controller/Namespace
 * fields, Dataset Management ranges (NVMe Base 1.4; REFERENCES.md section 7).
 *
 * All fields are little-endian. Register fields are masks and shifts, not bitfields.
 * Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_NVME_DEFS_H
#define MHCL_DEFS_NVME_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* The memory page size the driver programs (CC.MPS = 0) and builds PRPs for. */
#define NVME_PAGE_SHIFT 12u
#define NVME_PAGE_SIZE (1u << NVME_PAGE_SHIFT)
/* PRP entries in one list page; the last one chains to the next page when needed. */
#define NVME_PRPS_PER_PAGE (NVME_PAGE_SIZE / 8u)

/* Controller registers (BAR0). */
#define NVME_REG_CAP 0x00u /* u64 */
#define NVME_REG_VS 0x08u
#define NVME_REG_INTMS 0x0Cu
#define NVME_REG_INTMC 0x10u
#define NVME_REG_CC 0x14u
#define NVME_REG_CSTS 0x1Cu
#define NVME_REG_NSSR 0x20u
#define NVME_REG_AQA 0x24u
#define NVME_REG_ASQ 0x28u   /* u64 */
#define NVME_REG_ACQ 0x30u   /* u64 */
#define NVME_REG_DBS 0x1000u /* doorbells: (2 * qid + is_cq) * (4 << CAP.DSTRD) from here */

/* CAP */
#define NVME_CAP_MQES(cap) ((uint32_t)((cap)&0xffffu)) /* 0-based */
#define NVME_CAP_CQR(cap) ((uint32_t)(((cap) >> 16) & 1u))
#define NVME_CAP_TO(cap) ((uint32_t)(((cap) >> 24) & 0xffu)) /* 500 ms units */
#define NVME_CAP_DSTRD(cap) ((uint32_t)(((cap) >> 32) & 0xfu))
#define NVME_CAP_CSS_NVM(cap) ((uint32_t)(((cap) >> 37) & 1u))
#define NVME_CAP_MPSMIN(cap) ((uint32_t)(((cap) >> 48) & 0xfu))
#define NVME_CAP_MPSMAX(cap) ((uint32_t)(((cap) >> 52) & 0xfu))

/* CC */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS_NVM (0u << 4)
#define NVME_CC_MPS(n) ((uint32_t)(n) << 7)
#define NVME_CC_AMS_RR (0u << 11)
#define NVME_CC_SHN_MASK (3u << 14)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_IOSQES(n) ((uint32_t)(n) << 16)
#define NVME_CC_IOCQES(n) ((uint32_t)(n) << 20)

/* CSTS */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_DONE (2u << 2)

/* AQA: both sizes 0-based. */
#define NVME_AQA(sq_entries, cq_entries)                                                           \
	((((uint32_t)(sq_entries)-1u) & 0xfffu) | ((((uint32_t)(cq_entries)-1u) & 0xfffu) << 16))

/* Submission queue entry (64 bytes). */
struct nvme_sqe {
	uint32_t cdw0; /* opcode 7:0, fuse 9:8, psdt 15:14 (0 = PRP), cid 31:16 */
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");
static_assert(offsetof(struct nvme_sqe, nsid) == 4, "nsid at 4");
static_assert(offsetof(struct nvme_sqe, mptr) == 16, "mptr at 16");
static_assert(offsetof(struct nvme_sqe, prp1) == 24, "prp1 at 24");
static_assert(offsetof(struct nvme_sqe, prp2) == 32, "prp2 at 32");
static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "cdw10 at 40");
static_assert(offsetof(struct nvme_sqe, cdw15) == 60, "cdw15 at 60");

#define NVME_SQE_CDW0(opcode, cid) ((uint32_t)(opcode) | ((uint32_t)(cid) << 16))
#define NVME_SQE_OPCODE(cdw0) ((uint8_t)((cdw0)&0xffu))
#define NVME_SQE_CID(cdw0) ((uint16_t)((cdw0) >> 16))
#define NVME_SQES_LOG2 6u

/* Completion queue entry (16 bytes). */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* phase bit 0, SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15 */
};
static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");
static_assert(offsetof(struct nvme_cqe, sqhd) == 8, "sqhd at 8");
static_assert(offsetof(struct nvme_cqe, sqid) == 10, "sqid at 10");
static_assert(offsetof(struct nvme_cqe, cid) == 12, "cid at 12");
static_assert(offsetof(struct nvme_cqe, status) == 14, "status at 14");

#define NVME_CQE_PHASE(st) ((uint16_t)((st)&1u))
#define NVME_CQE_SC(st) ((uint16_t)(((st) >> 1) & 0xffu))
#define NVME_CQE_SCT(st) ((uint16_t)(((st) >> 9) & 0x7u))
#define NVME_CQE_DNR(st) ((uint16_t)(((st) >> 15) & 1u))
/* SCT and SC together, as the spec's tables write them (0x281 = media, unrecovered read). */
#define NVME_CQE_STATUS(st) ((uint16_t)(((st) >> 1) & 0x7ffu))
#define NVME_CQES_LOG2 4u

/* Status (SCT << 8 | SC) values the driver tells apart. */
#define NVME_SC_SUCCESS 0x000u
#define NVME_SC_INVALID_OPCODE 0x001u
#define NVME_SC_INVALID_FIELD 0x002u
#define NVME_SC_ABORT_REQUESTED 0x007u
#define NVME_SC_INVALID_NS 0x00Bu
#define NVME_SC_NS_WRITE_PROTECTED 0x020u
#define NVME_SC_LBA_RANGE 0x080u
#define NVME_SC_CAP_EXCEEDED 0x081u
#define NVME_SCT_MEDIA 0x2u

/* Admin opcodes. */
#define NVME_ADMIN_DELETE_SQ 0x00u
#define NVME_ADMIN_CREATE_SQ 0x01u
#define NVME_ADMIN_DELETE_CQ 0x04u
#define NVME_ADMIN_CREATE_CQ 0x05u
#define NVME_ADMIN_IDENTIFY 0x06u
#define NVME_ADMIN_ABORT 0x08u
#define NVME_ADMIN_SET_FEATURES 0x09u
#define NVME_ADMIN_GET_FEATURES 0x0Au

/* NVM command set opcodes. */
#define NVME_CMD_FLUSH 0x00u
#define NVME_CMD_WRITE 0x01u
#define NVME_CMD_READ 0x02u
#define NVME_CMD_DSM 0x09u

/* Identify CDW10.CNS */
#define NVME_CNS_NAMESPACE 0x00u
#define NVME_CNS_CONTROLLER 0x01u
#define NVME_CNS_ACTIVE_NSLIST 0x02u
#define NVME_ID_PAGE_SIZE 4096u
#define NVME_NSLIST_MAX (NVME_ID_PAGE_SIZE / 4u)

/* Set Features */
#define NVME_FEAT_NUM_QUEUES 0x07u

/* Create I/O CQ/SQ: CDW10 qid 15:0, size 31:16 (0-based); CDW11 flags. */
#define NVME_CREATE_Q_CDW10(qid, entries) ((uint32_t)(qid) | (((uint32_t)(entries)-1u) << 16))
#define NVME_CQ_PC (1u << 0)
#define NVME_CQ_IEN (1u << 1)
#define NVME_CQ_IV(v) ((uint32_t)(v) << 16)
#define NVME_SQ_PC (1u << 0)
#define NVME_SQ_CQID(q) ((uint32_t)(q) << 16)

/* Abort: CDW10 SQID 15:0, CID 31:16. */
#define NVME_ABORT_CDW10(sqid, cid) ((uint32_t)(sqid) | ((uint32_t)(cid) << 16))

/* Read/Write CDW12 */
#define NVME_RW_NLB(n) (((uint32_t)(n)-1u) & 0xffffu) /* 0-based */
#define NVME_RW_FUA (1u << 30)
#define NVME_RW_MAX_BLOCKS 65536u

/* Dataset Management: CDW10 NR 7:0 (0-based), CDW11 AD bit 2. */
#define NVME_DSM_AD (1u << 2)
#define NVME_DSM_MAX_RANGES 256u

struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb; /* 1-based here, unlike CDW12 */
	uint64_t slba;
};
static_assert(sizeof(struct nvme_dsm_range) == 16, "DSM range is 16 bytes");
static_assert(offsetof(struct nvme_dsm_range, slba) == 8, "slba at 8");
static_assert(NVME_DSM_MAX_RANGES * sizeof(struct nvme_dsm_range) == NVME_PAGE_SIZE,
	      "the most ranges fill one page");

/* Identify Controller: the fields the driver uses, the rest reserved. */
struct nvme_id_ctrl {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /* max transfer: 2^mdts pages of CAP.MPSMIN, 0 = no limit */
	uint16_t cntlid;
	uint32_t ver;
	uint8_t reserved84[512 - 84];
	uint8_t sqes; /* required 3:0, maximum 7:4, log2 */
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn; /* highest namespace ID */
	uint16_t oncs;
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint8_t reserved526[768 - 526];
	char subnqn[256];
	uint8_t reserved1024[NVME_ID_PAGE_SIZE - 1024];
};
static_assert(sizeof(struct nvme_id_ctrl) == NVME_ID_PAGE_SIZE, "Identify Controller is 4 KiB");
static_assert(offsetof(struct nvme_id_ctrl, sn) == 4, "sn at 4");
static_assert(offsetof(struct nvme_id_ctrl, mn) == 24, "mn at 24");
static_assert(offsetof(struct nvme_id_ctrl, fr) == 64, "fr at 64");
static_assert(offsetof(struct nvme_id_ctrl, mdts) == 77, "mdts at 77");
static_assert(offsetof(struct nvme_id_ctrl, cntlid) == 78, "cntlid at 78");
static_assert(offsetof(struct nvme_id_ctrl, ver) == 80, "ver at 80");
static_assert(offsetof(struct nvme_id_ctrl, sqes) == 512, "sqes at 512");
static_assert(offsetof(struct nvme_id_ctrl, cqes) == 513, "cqes at 513");
static_assert(offsetof(struct nvme_id_ctrl, maxcmd) == 514, "maxcmd at 514");
static_assert(offsetof(struct nvme_id_ctrl, nn) == 516, "nn at 516");
static_assert(offsetof(struct nvme_id_ctrl, oncs) == 520, "oncs at 520");
static_assert(offsetof(struct nvme_id_ctrl, vwc) == 525, "vwc at 525");
static_assert(offsetof(struct nvme_id_ctrl, subnqn) == 768, "subnqn at 768");

#define NVME_ONCS_DSM (1u << 2)
#define NVME_VWC_PRESENT (1u << 0)

/* One LBA format: metadata bytes, log2 of the data size, relative performance. */
struct nvme_lbaf {
	uint16_t ms;
	uint8_t lbads;
	uint8_t rp;
};
static_assert(sizeof(struct nvme_lbaf) == 4, "LBA format is 4 bytes");

#define NVME_MAX_LBAF 16u

/* Identify Namespace: the fields the driver uses, the rest reserved. */
struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* 0-based count of lbaf[] */
	uint8_t flbas; /* 3:0 the format in use */
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t reserved32[104 - 32];
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct nvme_lbaf lbaf[NVME_MAX_LBAF];
	uint8_t reserved192[NVME_ID_PAGE_SIZE - 192];
};
static_assert(sizeof(struct nvme_id_ns) == NVME_ID_PAGE_SIZE, "Identify Namespace is 4 KiB");
static_assert(offsetof(struct nvme_id_ns, nsze) == 0, "nsze at 0");
static_assert(offsetof(struct nvme_id_ns, nlbaf) == 25, "nlbaf at 25");
static_assert(offsetof(struct nvme_id_ns, flbas) == 26, "flbas at 26");
static_assert(offsetof(struct nvme_id_ns, nguid) == 104, "nguid at 104");
static_assert(offsetof(struct nvme_id_ns, eui64) == 120, "eui64 at 120");
static_assert(offsetof(struct nvme_id_ns, lbaf) == 128, "lbaf at 128");

#define NVME_FLBAS_FORMAT(f) ((unsigned)((f)&0xfu))

#endif
