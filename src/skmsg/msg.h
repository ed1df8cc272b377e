/* SPDX-License-Identifier: MIT */
/*
 * The sk_msg scatter-gather message: the kernel's struct sk_msg model
 * (include/linux/skmsg.h) on which sk_msg programs run (SEMANTICS
 * MSG-03..14).
 *
 * A message is a ring of USM_MSG_NR_IDS slots of which at most
 * USM_MSG_MAX_FRAGS (MAX_SKB_FRAGS = 17) are in use: slots [start, end)
 * taken in ring order, one slot always free so that start == end means
 * empty. Each used slot is a chunk: @len bytes at @off of a refcounted
 * buffer. size is the sum of the chunk lengths. Unused slots are all-zero.
 *
 * Chunk geometry follows the kernel's send path because programs see it:
 * data/data_end span only the first chunk (MSG-03). tcp_bpf_sendmsg carves
 * chunks from the sending task's page frag, a 32 KiB buffer (measured on
 * the kernel: a 100000-byte send shows size 100000 and data_end - data =
 * 32768; a message holds at most 17 chunks = 557056 bytes), and appends
 * to the last chunk when it ends where the frag continues (corked sends).
 * struct usm_msg_frag is that page frag; whoever sends owns one (one per
 * loop thread, like the kernel's per-task frag).
 *
 * The kernel allocates copy-in space first (sk_msg_alloc) and fills it
 * through a cursor (sg.curr / sg.copybreak); here append does both in one
 * call, so no cursor is kept.
 *
 * Threads: a message and a frag belong to one thread at a time. Buffers
 * shared between messages (clone) use non-atomic refcounts, so clones stay
 * on the same thread too.
 */
#ifndef USM_SKMSG_MSG_H
#define USM_SKMSG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct usm_msg_ctx;

#define USM_MSG_MAX_FRAGS 17u                    /* MAX_SKB_FRAGS */
#define USM_MSG_NR_IDS (USM_MSG_MAX_FRAGS + 1u)  /* ring slots */
#define USM_MSG_FRAG_SIZE 32768u   /* page frag: 32 KiB compound page */
#define USM_MSG_FRAG_MIN 32u       /* frag refill threshold (bytes left) */
/* Largest single allocation the msg helpers may make: the kernel's
 * alloc_pages() limit, 4 KiB pages << MAX_PAGE_ORDER (10) = 4 MiB. A pull,
 * push or pop that needs more fails with -ENOMEM as in the kernel. */
#define USM_MSG_MAX_ALLOC (4096u << 10)
/* sendfile()/splice() reach the sk_msg program through an internal pipe of
 * 16 pages: each send step carries at most 64 KiB (measured: a 100000-byte
 * sendfile runs the program on 65536 then 34464 bytes; MSG-22). */
#define USM_MSG_SPLICE_MAX 65536u

/* A byte buffer shared by chunks. Owned by its references. */
struct usm_msg_buf {
	uint32_t refcnt;
	uint32_t cap;
	uint8_t data[];
};

/* One scatter-gather element. Holds one reference on buf. */
struct usm_msg_chunk {
	struct usm_msg_buf *buf; /* NULL in an unused slot */
	uint32_t off;
	uint32_t len;
	/* The kernel's sg.copy bit: the bytes are shared with another
	 * message (clone), so programs get no direct pointer to them
	 * (data = data_end = NULL when this is the first chunk) and
	 * pull_data copies them first. */
	bool shared;
};

/* The message. Owns one reference per used chunk. */
struct usm_sk_msg {
	uint32_t start; /* first used slot */
	uint32_t end;   /* slot after the last used one */
	uint32_t size;  /* total bytes */
	struct usm_msg_chunk sg[USM_MSG_NR_IDS];
};

/* The sender's page frag (the kernel's task page_frag): the buffer new
 * chunks are carved from and the offset of its free part. Holds one
 * reference on buf. */
struct usm_msg_frag {
	struct usm_msg_buf *buf;
	uint32_t off;
};

/* Ring arithmetic. */
static inline uint32_t usm__msg_next(uint32_t i)
{
	return i + 1 == USM_MSG_NR_IDS ? 0 : i + 1;
}

static inline uint32_t usm__msg_prev(uint32_t i)
{
	return i == 0 ? USM_MSG_NR_IDS - 1 : i - 1;
}

/* Slots from @start up to (not including) @end in ring order. */
static inline uint32_t usm__msg_dist(uint32_t start, uint32_t end)
{
	return end >= start ? end - start : end + USM_MSG_NR_IDS - start;
}

/* Slot @k places after @i. */
static inline uint32_t usm__msg_add(uint32_t i, uint32_t k)
{
	return (i + k) % USM_MSG_NR_IDS;
}

static inline uint32_t usm__msg_elem_used(const struct usm_sk_msg *msg)
{
	return usm__msg_dist(msg->start, msg->end);
}

static inline bool usm__msg_full(const struct usm_sk_msg *msg)
{
	return usm__msg_elem_used(msg) == USM_MSG_MAX_FRAGS;
}

static inline struct usm_msg_chunk *usm__msg_elem(struct usm_sk_msg *msg,
						  uint32_t i)
{
	return &msg->sg[i];
}

static inline uint8_t *usm__msg_chunk_ptr(const struct usm_msg_chunk *c)
{
	return c->buf ? c->buf->data + c->off : NULL;
}

/* Lifetime. init: empty message. fini: release every chunk, leaving an
 * empty message; returns the bytes released (sk_msg_free). new/free: a
 * heap message (new: -ENOMEM; free: fini + release, NULL ok). */
void usm__msg_init(struct usm_sk_msg *msg);
uint32_t usm__msg_fini(struct usm_sk_msg *msg);
int usm__msg_new(struct usm_sk_msg **out);
void usm__msg_free(struct usm_sk_msg *msg);

/* Frag lifetime: init empty, fini drops the buffer reference. */
void usm__msg_frag_init(struct usm_msg_frag *frag);
void usm__msg_frag_fini(struct usm_msg_frag *frag);

/*
 * Copy-in (tcp_bpf_sendmsg: sk_msg_alloc + sk_msg_memcopy_from_iter).
 * Appends up to @len bytes to @msg in chunks carved from @frag; the first
 * new bytes extend the last chunk when it ends where the frag continues.
 * Returns the bytes appended: @len, or fewer when the ring filled up (the
 * kernel's -ENOSPC case: the caller sends a full message and continues),
 * -ENOSPC if the ring was already full, -ENOMEM (nothing changed).
 *
 * _iov gathers from @iov (@iovcnt entries) starting @skip bytes in.
 * _fd preads from @fd at @off (sendfile); a short file appends what it
 * had (possibly 0); a read error returns -errno and changes nothing.
 */
int usm__msg_append_iov(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
			const struct iovec *iov, int iovcnt, size_t skip,
			uint32_t len);
int usm__msg_append_buf(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
			const void *buf, uint32_t len);
int usm__msg_append_fd(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
		       int fd, off_t off, uint32_t len);

/* Copy-out: copy up to @len bytes starting at byte @off into @dst (or
 * across @iov). Returns the bytes copied (0 if @off >= size). The message
 * is unchanged. */
uint32_t usm__msg_read(const struct usm_sk_msg *msg, uint32_t off, void *dst,
		       uint32_t len);
uint32_t usm__msg_read_iov(const struct usm_sk_msg *msg, uint32_t off,
			   const struct iovec *iov, int iovcnt);

/* Zero-copy view for writev(): fills up to @iovcnt entries with the
 * message's first @max bytes, chunk by chunk. Returns the entries used.
 * The pointers stay valid until the message changes. */
int usm__msg_to_iov(const struct usm_sk_msg *msg, uint32_t max,
		    struct iovec *iov, int iovcnt);

/* Shrink to the first @len bytes, releasing the tail (sk_msg_trim).
 * @len >= size: no change. */
void usm__msg_trim(struct usm_sk_msg *msg, uint32_t len);

/* Drop the first @bytes (all if more than size): what was sent or handed
 * on (sk_msg_free_partial). The next byte becomes the start of the first
 * chunk, so data points at it (MSG-07 re-run on the remainder). */
void usm__msg_consume(struct usm_sk_msg *msg, uint32_t bytes);

/*
 * Append bytes [@off, @off + @len) of @src to @dst sharing @src's buffers
 * (sk_msg_clone): no bytes are copied; @dst's new chunks are marked shared
 * and adjacent pieces of the same buffer merge. Returns 0, -EINVAL if the
 * range is not inside @src, -ENOSPC if @dst ran out of slots (@dst keeps
 * what was added, as in the kernel). @src is unchanged.
 */
int usm__msg_clone(struct usm_sk_msg *dst, const struct usm_sk_msg *src,
		   uint32_t off, uint32_t len);

/*
 * The program-visible operations (filter.c bpf_msg_*_data), each with the
 * kernel's bounds, errors and resulting chunk layout. On error the message
 * is unchanged.
 *
 * pull (MSG-11): make bytes [start, end) contiguous. flags != 0, end <=
 * start, start >= size, end > size -> -EINVAL; -ENOMEM. When the range is
 * inside one unshared chunk nothing moves; otherwise the whole chunks the
 * range touches (a shared chunk even alone) are copied into one new chunk,
 * -ENOMEM if that is more than USM_MSG_MAX_ALLOC. On success *data points
 * at byte @start (the program's data; data_end = *data + end - start).
 *
 * push (MSG-12): insert @len bytes at @start (start == size appends).
 * flags != 0 -> -EINVAL; len == 0 -> 0, no change; start > size,
 * size overflow -> -EINVAL; -ENOMEM (also for more than
 * USM_MSG_MAX_ALLOC bytes in one allocation). The kernel leaves the inserted
 * bytes uninitialised; we zero them. The new bytes get their own chunk
 * (splitting the chunk at @start) when the ring has room; otherwise the
 * chunk at @start is copied into one buffer with the new bytes.
 *
 * pop (MSG-13): remove [@start, @start + @len). flags != 0 -> -EINVAL;
 * len == 0 -> 0; start >= size or start + len > size (64-bit) -> -EINVAL;
 * -ENOMEM when a chunk must be cut in two while the ring is full.
 */
int usm__msg_pull(struct usm_sk_msg *msg, uint32_t start, uint32_t end,
		  uint64_t flags, uint8_t **data);
int usm__msg_push(struct usm_sk_msg *msg, uint32_t start, uint32_t len,
		  uint64_t flags);
int usm__msg_pop(struct usm_sk_msg *msg, uint32_t start, uint32_t len,
		 uint64_t flags);

/*
 * Set @ctx->md.data / data_end to the first chunk of @ctx->msg (NULL, NULL
 * if it is shared or the message is empty; MSG-03) and md.size to its size.
 * Call before running a program and after anything that changes the
 * message outside the helpers.
 */
void usm__msg_compute_data_pointers(struct usm_msg_ctx *ctx);

/* Module-internal (msg.c, msg_ops.c). buf_new: refcnt 1, @cap bytes
 * (uninitialised), NULL on allocation failure. chunk_clear: drop the
 * chunk's reference and zero the slot. find: the slot holding byte @pos
 * and, in *off, the message offset of that slot's first byte; the end slot
 * (and *off = size) if @pos >= size. */
struct usm_msg_buf *usm__msg_buf_new(uint32_t cap);
void usm__msg_buf_get(struct usm_msg_buf *buf);
void usm__msg_buf_put(struct usm_msg_buf *buf);
void usm__msg_chunk_clear(struct usm_msg_chunk *c);
uint32_t usm__msg_find(const struct usm_sk_msg *msg, uint32_t pos,
		       uint32_t *off);

/*
 * Test hook: make the @n-th allocation from now (0 = the next one) of this
 * module fail, on this thread; -1 disables. Used to test -ENOMEM paths.
 */
void usm__msg_fail_alloc_after(int n);

#endif /* USM_SKMSG_MSG_H */
