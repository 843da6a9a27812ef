/*
 * N-API glue for the hot path. Every entry point re-checks its arguments (the TypeScript
 * wrapper in codec/native.ts checks them first, with better messages) and all per-byte
 * work runs on the libuv threadpool with references held until the complete hook, except
 * where the caller asks for it in place because it is too small to be worth the trip (small
 * segments, CRCs, preadCached).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* preadv2, RWF_NOWAIT */
#endif
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "crc.h"
#include "crypto.h"
#include "gcm.h"
#include "isal_bench.h"
#include "md5_lanes.h"
#include "rs.h"
#include "segment.h"
#include "segment_decode.h"
#include "sha256_lanes.h"

#define OK(call) do { napi_status ok_status_ = (call); assert(ok_status_ == napi_ok); (void) ok_status_; } while (0)
#define THROW(env, msg) do { napi_throw_error((env), "ERR_NATIVE_ARGUMENT", (msg)); return NULL; } while (0)
#define MAX_REFS (RS_N + 2)
#define ALL_PIECES ((1u << RS_N) - 1)

static kernel_id current_kernel;

/* ---- arguments ---------------------------------------------------------------------- */

/* Any ArrayBufferView (Buffer, Uint8Array, Uint32Array...): its bytes, already offset. */
static int arg_view(napi_env env, napi_value v, uint8_t **ptr, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &data, &ab, &offset) != napi_ok) return 0;
  size_t size = 1;
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: size = 1; break;
    case napi_int16_array: case napi_uint16_array: size = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: size = 4; break;
    default: size = 8; break;
  }
  *ptr = data;
  *len = count * size;
  return 1;
}

/* A non-negative integer <= max, rejecting NaN, Infinity and fractions. */
static int arg_uint(napi_env env, napi_value v, double max, double *out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || isnan(d) || d < 0 || d > max || floor(d) != d) return 0;
  *out = d;
  return 1;
}

static int arg_function(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

static int is_null(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* ---- async tasks -------------------------------------------------------------------- */

typedef struct md5_state {
  EVP_MD_CTX *ctx;
  int busy;      /* an update is in flight: updates must be chained, never overlapped */
  int finished;
} md5_state;

/* An object's MD5 on our own code (md5_lanes.c), so that many advance together. */
#define MD5X_MAGIC 0x6d643578c0deca11ULL
typedef struct md5x_state {
  uint64_t magic; /* MD5X_MAGIC: tells it from md5Create's state, which starts with a pointer */
  md5x_ctx ctx;
  int busy;
  int finished;
} md5x_state;

typedef enum { TASK_RS, TASK_SEGMENT, TASK_DECODE, TASK_MD5, TASK_ISAL, TASK_MD5_MANY } task_kind;

typedef struct {
  task_kind kind;
  napi_async_work work;
  napi_ref refs[MAX_REFS];
  int nrefs;
  napi_ref callback;
  const char *error;
  xor_kernel_fn kernel;
  union {
    struct { rs_program program; uint8_t *data, *parity; uint32_t piece_size; } rs;
    struct { segment_job job; uint8_t key[SEGMENT_KEY_BYTES]; md5_state *md5; struct md5x_state *md5x; } seg;
    struct { decode_job job; uint8_t key[SEGMENT_KEY_BYTES]; uint32_t *result; } dec;
    struct { md5_state *state; const uint8_t *buf; size_t len; } md5;
    struct { uint32_t sources, targets; uint8_t *data, *parity; uint32_t piece_size; } isal;
    struct { size_t n; int lanes; md5x_state **states; md5x_ctx **ctx; const uint8_t **buf; size_t *len; } many;
  } u;
} task;

static void task_execute(napi_env env, void *data) {
  (void) env;
  task *t = data;
  switch (t->kind) {
    case TASK_RS:
      rs_run(&t->u.rs.program, t->kernel, t->u.rs.data, t->u.rs.parity, t->u.rs.piece_size);
      break;
    case TASK_SEGMENT:
      t->error = segment_encode(&t->u.seg.job, t->kernel);
      break;
    case TASK_DECODE:
      t->error = segment_decode(&t->u.dec.job, t->kernel);
      t->u.dec.result[0] = (uint32_t) t->u.dec.job.status;
      t->u.dec.result[1] = t->u.dec.job.corrupt;
      break;
    case TASK_MD5:
      if (t->u.md5.len > 0 && EVP_DigestUpdate(t->u.md5.state->ctx, t->u.md5.buf, t->u.md5.len) != 1) {
        t->error = "MD5 update failed";
      }
      break;
    case TASK_MD5_MANY:
      md5x_update_many(t->u.many.ctx, t->u.many.buf, t->u.many.len, t->u.many.n, t->u.many.lanes);
      break;
    case TASK_ISAL:
      if (isal_run(t->u.isal.sources, t->u.isal.targets, t->u.isal.data, t->u.isal.parity, t->u.isal.piece_size) != 0) {
        t->error = "ISA-L is not available";
      }
      break;
  }
}

static void task_complete(napi_env env, napi_status status, void *data) {
  task *t = data;
  if (t->kind == TASK_MD5) t->u.md5.state->busy = 0;
  if (t->kind == TASK_SEGMENT && t->u.seg.md5) t->u.seg.md5->busy = 0;
  if (t->kind == TASK_SEGMENT && t->u.seg.md5x) t->u.seg.md5x->busy = 0;
  if (t->kind == TASK_MD5_MANY) {
    for (size_t i = 0; i < t->u.many.n; i++) t->u.many.states[i]->busy = 0;
    free(t->u.many.states);
  }
  napi_value callback, global, argv[1];
  OK(napi_get_reference_value(env, t->callback, &callback));
  OK(napi_get_global(env, &global));
  if (status != napi_ok || t->error) {
    napi_value msg, code;
    OK(napi_create_string_utf8(env, t->error ? t->error : "native task was cancelled", NAPI_AUTO_LENGTH, &msg));
    OK(napi_create_string_utf8(env, "ERR_NATIVE", NAPI_AUTO_LENGTH, &code));
    OK(napi_create_error(env, code, msg, &argv[0]));
  } else {
    OK(napi_get_undefined(env, &argv[0]));
  }
  for (int i = 0; i < t->nrefs; i++) OK(napi_delete_reference(env, t->refs[i]));
  OK(napi_delete_reference(env, t->callback));
  OK(napi_delete_async_work(env, t->work));
  free(t);
  /* The callback may throw; N-API reports that as an uncaught exception, as for any callback. */
  napi_call_function(env, global, callback, 1, argv, NULL);
}

static task *task_new(task_kind kind) {
  task *t = calloc(1, sizeof(task));
  if (t) {
    t->kind = kind;
    t->kernel = kernel_fns[current_kernel];
  }
  return t;
}

static void task_hold(napi_env env, task *t, napi_value v) {
  assert(t->nrefs < MAX_REFS);
  OK(napi_create_reference(env, v, 1, &t->refs[t->nrefs++]));
}

static napi_value task_queue(napi_env env, task *t, napi_value callback, const char *name) {
  napi_value resource_name;
  OK(napi_create_reference(env, callback, 1, &t->callback));
  OK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name));
  OK(napi_create_async_work(env, NULL, resource_name, task_execute, task_complete, t, &t->work));
  OK(napi_queue_async_work(env, t->work));
  return NULL;
}

/* (data, dataOffset, parity, parityOffset, pieceSize) → piece pointers, checked. */
static const char *arg_layout(napi_env env, napi_value *argv, uint8_t **data, uint8_t **parity, uint32_t *piece_size) {
  uint8_t *d, *p;
  size_t dl, pl;
  double doff, poff, ps;
  if (!arg_view(env, argv[0], &d, &dl) || !arg_uint(env, argv[1], 9007199254740991.0, &doff) ||
      !arg_view(env, argv[2], &p, &pl) || !arg_uint(env, argv[3], 9007199254740991.0, &poff) ||
      !arg_uint(env, argv[4], 4294967288.0, &ps)) {
    return "bad arguments, expected: (data, dataOffset, parity, parityOffset, pieceSize, ...)";
  }
  if (ps == 0 || (uint64_t) ps % 8 != 0) return "pieceSize must be a positive multiple of 8";
  if (doff + RS_K * ps > (double) dl) return "data is too short for 10 pieces";
  if (poff + RS_M * ps > (double) pl) return "parity is too short for 6 pieces";
  *data = d + (size_t) doff;
  *parity = p + (size_t) poff;
  *piece_size = (uint32_t) ps;
  return NULL;
}

static const char *arg_masks(napi_env env, napi_value *argv, uint32_t *sources, uint32_t *targets) {
  double s, t;
  if (!arg_uint(env, argv[0], ALL_PIECES, &s) || !arg_uint(env, argv[1], ALL_PIECES, &t)) {
    return "bad arguments, expected: (..., sources, targets, callback) as 16-bit masks";
  }
  *sources = (uint32_t) s;
  *targets = (uint32_t) t;
  if (*sources & *targets) return "sources and targets overlap";
  if (__builtin_popcount(*sources) < RS_K) return "fewer than 10 sources";
  if (*targets == 0) return "no targets";
  if (__builtin_popcount(*targets) > RS_M) return "more than 6 targets";
  return NULL;
}

/* rsRun(data, dataOffset, parity, parityOffset, pieceSize, sources, targets, callback) */
static napi_value rs_run_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8 || !arg_function(env, argv[7])) {
    THROW(env, "bad arguments, expected: (data, dataOffset, parity, parityOffset, pieceSize, sources, targets, callback)");
  }
  uint8_t *data, *parity;
  uint32_t piece_size, sources, targets;
  const char *err = arg_layout(env, argv, &data, &parity, &piece_size);
  if (!err) err = arg_masks(env, argv + 5, &sources, &targets);
  if (err) THROW(env, err);
  task *t = task_new(TASK_RS);
  if (!t) THROW(env, "out of memory");
  if (rs_program_build(sources, targets, &t->u.rs.program) != 0) {
    free(t);
    THROW(env, "sources do not determine targets");
  }
  t->u.rs.data = data;
  t->u.rs.parity = parity;
  t->u.rs.piece_size = piece_size;
  task_hold(env, t, argv[0]);
  task_hold(env, t, argv[2]);
  return task_queue(env, t, argv[7], "shardgate:rs");
}

/* isalRun: same arguments as rsRun; for the benchmark only. */
static napi_value isal_run_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8 || !arg_function(env, argv[7])) {
    THROW(env, "bad arguments, expected: (data, dataOffset, parity, parityOffset, pieceSize, sources, targets, callback)");
  }
  if (!isal_available()) THROW(env, "ISA-L (libisal.so.2) is not installed");
  task *t = task_new(TASK_ISAL);
  if (!t) THROW(env, "out of memory");
  const char *err = arg_layout(env, argv, &t->u.isal.data, &t->u.isal.parity, &t->u.isal.piece_size);
  if (!err) err = arg_masks(env, argv + 5, &t->u.isal.sources, &t->u.isal.targets);
  if (err) {
    free(t);
    THROW(env, err);
  }
  task_hold(env, t, argv[0]);
  task_hold(env, t, argv[2]);
  return task_queue(env, t, argv[7], "shardgate:isal");
}

static md5_state *arg_md5(napi_env env, napi_value v);
static md5x_state *arg_md5x(napi_env env, napi_value v);

/* segmentEncode(key, index, plain, plainOffset, plainLength, data, dataOffset, parity,
 *               parityOffset, pieceSize, crcOut, hashOut | null, md5 | null, callback | null)
 * With md5, the object's MD5 advances over the plaintext in the same pass. Without a
 * callback the call runs synchronously, on this thread: for small segments, where the work
 * costs less than a trip through the threadpool. */
static napi_value segment_encode_js(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *plain, *crc, *hash = NULL;
  size_t key_len, plain_len, crc_len, hash_len = 0;
  double index, poff, plen;
  md5_state *md5 = NULL;
  /* Either MD5: OpenSSL's (md5Create) or md5_lanes.c's (md5xCreate). */
  md5x_state *md5x = argc == 14 ? arg_md5x(env, argv[12]) : NULL;
  if (argc != 14 || !arg_view(env, argv[0], &key, &key_len) || !arg_uint(env, argv[1], 9007199254740991.0, &index) ||
      !arg_view(env, argv[2], &plain, &plain_len) || !arg_uint(env, argv[3], 9007199254740991.0, &poff) ||
      !arg_uint(env, argv[4], 9007199254740991.0, &plen) || !arg_view(env, argv[10], &crc, &crc_len) ||
      !(is_null(env, argv[11]) || arg_view(env, argv[11], &hash, &hash_len)) ||
      !(is_null(env, argv[12]) || md5x || (md5 = arg_md5(env, argv[12])) != NULL) ||
      !(is_null(env, argv[13]) || arg_function(env, argv[13]))) {
    THROW(env, "bad arguments, expected: (key, index, plain, plainOffset, plainLength, data, dataOffset, "
               "parity, parityOffset, pieceSize, crcOut, hashOut | null, md5 | null, callback | null)");
  }
  if (key_len != SEGMENT_KEY_BYTES) THROW(env, "key must be 32 bytes");
  if (poff + plen > (double) plain_len) THROW(env, "plainOffset + plainLength > plain.length");
  if (crc_len < 4 * RS_N) THROW(env, "crcOut must hold 16 CRC-32s");
  if (hash && hash_len < SEGMENT_HASH_BYTES * RS_N) THROW(env, "hashOut must hold 16 SHA-256s");
  if (md5 && md5->busy) THROW(env, "MD5 updates must not overlap");
  if (md5 && md5->finished) THROW(env, "MD5 already finished");
  if (md5x && md5x->busy) THROW(env, "MD5 updates must not overlap");
  if (md5x && md5x->finished) THROW(env, "MD5 already finished");
  uint8_t *data, *parity;
  uint32_t piece_size;
  const char *err = arg_layout(env, argv + 5, &data, &parity, &piece_size);
  if (err) THROW(env, err);
  if (plen + SEGMENT_TAG_BYTES > (double) RS_K * piece_size) THROW(env, "pieceSize is too small for the segment");
  segment_job job = {
    .key = key, .index = (uint64_t) index, .plain = plain + (size_t) poff, .plain_len = (size_t) plen,
    .data = data, .parity = parity, .piece_size = piece_size, .crc_out = crc, .hash_out = hash,
    .md5 = md5 ? md5->ctx : NULL, .md5x = md5x ? &md5x->ctx : NULL,
  };
  if (is_null(env, argv[13])) {
    err = segment_encode(&job, kernel_fns[current_kernel]);
    if (err) napi_throw_error(env, "ERR_NATIVE", err);
    return NULL;
  }
  task *t = task_new(TASK_SEGMENT);
  if (!t) THROW(env, "out of memory");
  /* The caller may reuse its key buffer: the task keeps a copy. */
  memcpy(t->u.seg.key, key, SEGMENT_KEY_BYTES);
  job.key = t->u.seg.key;
  t->u.seg.job = job;
  t->u.seg.md5 = md5;
  t->u.seg.md5x = md5x;
  task_hold(env, t, argv[2]);
  task_hold(env, t, argv[5]);
  task_hold(env, t, argv[7]);
  task_hold(env, t, argv[10]);
  if (hash) task_hold(env, t, argv[11]);
  if (md5) md5->busy = 1;
  if (md5x) md5x->busy = 1;
  if (md5 || md5x) task_hold(env, t, argv[12]);
  return task_queue(env, t, argv[13], "shardgate:segment");
}

/* segmentDecode(key, index, plainLength, records, out, outOffset, pieceSize, result, callback | null)
 * records: 16 entries, each null or exactly pieceSize + 4 bytes; out: K * pieceSize bytes
 * from outOffset; result: Uint32Array(2) ← [status, corrupt mask]. Without a callback the
 * call runs synchronously, on this thread: for small segments, as segmentEncode. */
static napi_value segment_decode_js(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *out, *result;
  size_t key_len, out_len, result_len;
  double index, plen, ooff, ps;
  bool is_array = false;
  uint32_t count = 0;
  if (argc != 9 || !arg_view(env, argv[0], &key, &key_len) || !arg_uint(env, argv[1], 9007199254740991.0, &index) ||
      !arg_uint(env, argv[2], 9007199254740991.0, &plen) || napi_is_array(env, argv[3], &is_array) != napi_ok ||
      !is_array || !arg_view(env, argv[4], &out, &out_len) || !arg_uint(env, argv[5], 9007199254740991.0, &ooff) ||
      !arg_uint(env, argv[6], 1073741824.0, &ps) || !arg_view(env, argv[7], &result, &result_len) ||
      !(is_null(env, argv[8]) || arg_function(env, argv[8]))) {
    THROW(env, "bad arguments, expected: (key, index, plainLength, records, out, outOffset, pieceSize, result, callback | null)");
  }
  if (key_len != SEGMENT_KEY_BYTES) THROW(env, "key must be 32 bytes");
  if (ps == 0 || (uint64_t) ps % 8 != 0) THROW(env, "pieceSize must be a positive multiple of 8");
  if (plen + SEGMENT_TAG_BYTES > RS_K * ps) THROW(env, "pieceSize is too small for the segment");
  if (ooff + RS_K * ps > (double) out_len) THROW(env, "out is too short for 10 pieces");
  if (result_len < 8) THROW(env, "result must hold 2 uint32s");
  if (((uintptr_t) result) % 4 != 0) THROW(env, "result must be 4-byte aligned");
  OK(napi_get_array_length(env, argv[3], &count));
  if (count != RS_N) THROW(env, "records must have 16 entries");
  decode_job job;
  memset(&job, 0, sizeof job);
  napi_value held[RS_N];
  for (uint32_t i = 0; i < RS_N; i++) {
    napi_value rec;
    uint8_t *ptr;
    size_t len;
    held[i] = NULL;
    OK(napi_get_element(env, argv[3], i, &rec));
    if (is_null(env, rec)) continue;
    if (!arg_view(env, rec, &ptr, &len) || len != (size_t) ps + 4) THROW(env, "each record must be null or exactly pieceSize + 4 bytes");
    job.records[i] = ptr;
    held[i] = rec;
  }
  job.key = key;
  job.index = (uint64_t) index;
  job.piece_size = (uint32_t) ps;
  job.plain_len = (size_t) plen;
  job.out = out + (size_t) ooff;
  if (is_null(env, argv[8])) {
    const char *err = segment_decode(&job, kernel_fns[current_kernel]);
    ((uint32_t *) result)[0] = (uint32_t) job.status;
    ((uint32_t *) result)[1] = job.corrupt;
    if (err) napi_throw_error(env, "ERR_NATIVE", err);
    return NULL;
  }
  task *t = task_new(TASK_DECODE);
  if (!t) THROW(env, "out of memory");
  t->u.dec.job = job;
  /* The caller may reuse its key buffer: the task keeps a copy. */
  memcpy(t->u.dec.key, key, SEGMENT_KEY_BYTES);
  t->u.dec.job.key = t->u.dec.key;
  for (uint32_t i = 0; i < RS_N; i++) if (held[i]) task_hold(env, t, held[i]);
  t->u.dec.result = (uint32_t *) result;
  task_hold(env, t, argv[4]);
  task_hold(env, t, argv[7]);
  return task_queue(env, t, argv[8], "shardgate:decode");
}

/* ---- MD5 ---------------------------------------------------------------------------- */

static void md5_finalize(napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  md5_state *s = data;
  EVP_MD_CTX_free(s->ctx);
  free(s);
}

static md5_state *arg_md5(napi_env env, napi_value v) {
  napi_valuetype type;
  void *p = NULL;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value md5_create_js(napi_env env, napi_callback_info info) {
  (void) info;
  md5_state *s = calloc(1, sizeof(md5_state));
  if (!s) THROW(env, "out of memory");
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || CRYPTO_DIGEST_INIT(s->ctx, crypto_md5()) != 1) {
    EVP_MD_CTX_free(s->ctx);
    free(s);
    THROW(env, "MD5 init failed");
  }
  napi_value out;
  OK(napi_create_external(env, s, md5_finalize, NULL, &out));
  return out;
}

/* md5Update(state, buf, offset, length, callback): chained by the caller, never overlapped. */
static napi_value md5_update_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  md5_state *s = argc == 5 ? arg_md5(env, argv[0]) : NULL;
  uint8_t *buf;
  size_t len;
  double off, n;
  if (!s || !arg_view(env, argv[1], &buf, &len) || !arg_uint(env, argv[2], 9007199254740991.0, &off) ||
      !arg_uint(env, argv[3], 9007199254740991.0, &n) || !arg_function(env, argv[4])) {
    THROW(env, "bad arguments, expected: (md5, buffer, offset, length, callback)");
  }
  if (off + n > (double) len) THROW(env, "offset + length > buffer.length");
  if (s->busy) THROW(env, "MD5 updates must not overlap");
  if (s->finished) THROW(env, "MD5 already finished");
  task *t = task_new(TASK_MD5);
  if (!t) THROW(env, "out of memory");
  s->busy = 1;
  t->u.md5.state = s;
  t->u.md5.buf = buf + (size_t) off;
  t->u.md5.len = (size_t) n;
  task_hold(env, t, argv[0]);
  task_hold(env, t, argv[1]);
  return task_queue(env, t, argv[4], "shardgate:md5");
}

static napi_value md5_digest_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  md5_state *s = argc == 1 ? arg_md5(env, argv[0]) : NULL;
  if (!s) THROW(env, "bad arguments, expected: (md5)");
  if (s->busy) THROW(env, "MD5 update still in flight");
  if (s->finished) THROW(env, "MD5 already finished");
  void *out_data;
  napi_value out;
  unsigned int n = 0;
  OK(napi_create_buffer(env, 16, &out_data, &out));
  if (EVP_DigestFinal_ex(s->ctx, out_data, &n) != 1 || n != 16) THROW(env, "MD5 final failed");
  s->finished = 1;
  return out;
}

/* ---- MD5 of many objects at once (md5_lanes.c) ---------------------------------------- */

static void md5x_finalize(napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  free(data);
}

static md5x_state *arg_md5x(napi_env env, napi_value v) {
  napi_valuetype type;
  void *p = NULL;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) return NULL;
  /* Both kinds of state are externals to JS; md5Create's starts with a pointer, never this value. */
  return ((md5x_state *) p)->magic == MD5X_MAGIC ? p : NULL;
}

static napi_value md5x_create_js(napi_env env, napi_callback_info info) {
  (void) info;
  md5x_state *s = calloc(1, sizeof(md5x_state));
  if (!s) THROW(env, "out of memory");
  md5x_init(&s->ctx);
  s->magic = MD5X_MAGIC;
  napi_value out;
  OK(napi_create_external(env, s, md5x_finalize, NULL, &out));
  return out;
}

/*
 * md5xUpdateMany(states, buffers, lanes, callback): state i advances over buffer i, all on one
 * threadpool task, MD5_LANES at a time where the CPU has AVX-512 and `lanes` is true. The two
 * arrays are held, not copied: the caller must not change them until the callback.
 */
static napi_value md5x_update_many_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_a = false, is_b = false, lanes = false;
  uint32_t n = 0, nb = 0;
  if (argc != 4 || napi_is_array(env, argv[0], &is_a) != napi_ok || !is_a || napi_is_array(env, argv[1], &is_b) != napi_ok || !is_b ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || napi_get_array_length(env, argv[1], &nb) != napi_ok || n != nb ||
      napi_get_value_bool(env, argv[2], &lanes) != napi_ok || !arg_function(env, argv[3])) {
    THROW(env, "bad arguments, expected: (md5x[], buffer[] of the same length, lanes, callback)");
  }
  if (n == 0 || n > 4096) THROW(env, "from 1 to 4096 updates at once");
  task *t = task_new(TASK_MD5_MANY);
  /* One allocation for the four arrays, freed with the states' array at completion. */
  void *mem = t ? calloc(n, sizeof(md5x_state *) + sizeof(md5x_ctx *) + sizeof(uint8_t *) + sizeof(size_t)) : NULL;
  if (!mem) {
    free(t);
    THROW(env, "out of memory");
  }
  t->u.many.n = n;
  t->u.many.lanes = lanes;
  t->u.many.states = mem;
  t->u.many.ctx = (md5x_ctx **) (t->u.many.states + n);
  t->u.many.buf = (const uint8_t **) (t->u.many.ctx + n);
  t->u.many.len = (size_t *) (t->u.many.buf + n);
  const char *err = NULL;
  for (uint32_t i = 0; i < n && !err; i++) {
    napi_value sv, bv;
    uint8_t *b;
    size_t len;
    OK(napi_get_element(env, argv[0], i, &sv));
    OK(napi_get_element(env, argv[1], i, &bv));
    md5x_state *s = arg_md5x(env, sv);
    if (!s || !arg_view(env, bv, &b, &len)) err = "bad arguments, expected: (md5x[], buffer[] of the same length, lanes, callback)";
    else if (s->busy) err = "MD5 updates must not overlap";
    else if (s->finished) err = "MD5 already finished";
    else {
      s->busy = 1;
      t->u.many.states[i] = s;
      t->u.many.ctx[i] = &s->ctx;
      t->u.many.buf[i] = b;
      t->u.many.len[i] = len;
    }
  }
  if (err) {
    for (uint32_t i = 0; i < n; i++) if (t->u.many.states[i]) t->u.many.states[i]->busy = 0;
    free(mem);
    free(t);
    THROW(env, err);
  }
  task_hold(env, t, argv[0]);
  task_hold(env, t, argv[1]);
  return task_queue(env, t, argv[3], "shardgate:md5many");
}

static napi_value md5x_digest_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  md5x_state *s = argc == 1 ? arg_md5x(env, argv[0]) : NULL;
  if (!s) THROW(env, "bad arguments, expected: (md5x)");
  if (s->busy) THROW(env, "MD5 update still in flight");
  if (s->finished) THROW(env, "MD5 already finished");
  void *out_data;
  napi_value out;
  OK(napi_create_buffer(env, 16, &out_data, &out));
  md5x_final(&s->ctx, out_data);
  s->finished = 1;
  return out;
}

/* ---- introspection and test hooks --------------------------------------------------- */

static napi_value set_string(napi_env env, napi_value obj, const char *name, const char *value) {
  napi_value v;
  OK(napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v));
  OK(napi_set_named_property(env, obj, name, v));
  return obj;
}

static napi_value string_array(napi_env env, int supported_only) {
  napi_value arr, v;
  OK(napi_create_array(env, &arr));
  uint32_t n = 0;
  for (int id = 0; id < KERNEL_COUNT; id++) {
    if (supported_only && !kernel_supported((kernel_id) id)) continue;
    OK(napi_create_string_utf8(env, kernel_names[id], NAPI_AUTO_LENGTH, &v));
    OK(napi_set_element(env, arr, n++, v));
  }
  return arr;
}

/* info() → { kernel, kernels, supportedKernels, cpu, crc, supportedCrcKernels, gcm, supportedGcmKernels, pieceHash, supportedPieceHashes } */
static napi_value info_js(napi_env env, napi_callback_info info) {
  (void) info;
  napi_value obj;
  OK(napi_create_object(env, &obj));
  set_string(env, obj, "kernel", kernel_names[current_kernel]);
  set_string(env, obj, "cpu", cpu_features());
  OK(napi_set_named_property(env, obj, "kernels", string_array(env, 0)));
  OK(napi_set_named_property(env, obj, "supportedKernels", string_array(env, 1)));
  set_string(env, obj, "crc", crc_kernel_names[crc_kernel_current()]);
  napi_value crcs, v;
  OK(napi_create_array(env, &crcs));
  for (uint32_t k = 0, n = 0; k < CRC_KERNEL_COUNT; k++) {
    if (!crc_kernel_supported((crc_kernel) k)) continue;
    OK(napi_create_string_utf8(env, crc_kernel_names[k], NAPI_AUTO_LENGTH, &v));
    OK(napi_set_element(env, crcs, n++, v));
  }
  OK(napi_set_named_property(env, obj, "supportedCrcKernels", crcs));
  set_string(env, obj, "gcm", gcm_kernel_names[gcm_kernel_current()]);
  napi_value gcms;
  OK(napi_create_array(env, &gcms));
  for (uint32_t k = 0, n = 0; k < GCM_KERNEL_COUNT; k++) {
    if (!gcm_kernel_supported((gcm_kernel) k)) continue;
    OK(napi_create_string_utf8(env, gcm_kernel_names[k], NAPI_AUTO_LENGTH, &v));
    OK(napi_set_element(env, gcms, n++, v));
  }
  OK(napi_set_named_property(env, obj, "supportedGcmKernels", gcms));
  set_string(env, obj, "pieceHash", segment_lanes() ? "sha-ni-x4" : "openssl");
  napi_value hashes;
  OK(napi_create_array(env, &hashes));
  OK(napi_create_string_utf8(env, "openssl", NAPI_AUTO_LENGTH, &v));
  OK(napi_set_element(env, hashes, 0, v));
  if (sha256_lanes_supported()) {
    OK(napi_create_string_utf8(env, "sha-ni-x4", NAPI_AUTO_LENGTH, &v));
    OK(napi_set_element(env, hashes, 1, v));
  }
  OK(napi_set_named_property(env, obj, "supportedPieceHashes", hashes));
  napi_value md5lanes;
  OK(napi_get_boolean(env, md5_lanes_supported(), &md5lanes));
  OK(napi_set_named_property(env, obj, "md5Lanes", md5lanes));
  return obj;
}

/* isalAvailable(): tries to dlopen ISA-L (benchmark only; never called by the data path). */
static napi_value isal_available_js(napi_env env, napi_callback_info info) {
  (void) info;
  napi_value b;
  OK(napi_get_boolean(env, isal_available(), &b));
  return b;
}

/* The one argument of a setter, a name, into `name`; false when it is missing or not a short string. */
static bool name_arg(napi_env env, napi_callback_info info, char *name, size_t size) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) return false;
  return napi_get_value_string_utf8(env, argv[0], name, size, &len) == napi_ok;
}

/* setKernel(name): process-wide; calls already queued keep the kernel they were given. */
static napi_value set_kernel_js(napi_env env, napi_callback_info info) {
  char name[32];
  if (!name_arg(env, info, name, sizeof(name))) THROW(env, "bad arguments, expected: (kernel name)");
  for (int id = 0; id < KERNEL_COUNT; id++) {
    if (strcmp(name, kernel_names[id]) != 0) continue;
    if (!kernel_supported((kernel_id) id)) THROW(env, "kernel is not supported by this CPU");
    current_kernel = (kernel_id) id;
    return NULL;
  }
  THROW(env, "unknown kernel");
}

/* gcm(key, index, plain, plainOffset, plainLength, out, outOffset): synchronous, for tests. */
static napi_value gcm_js(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *plain, *out;
  size_t key_len, plain_len, out_len;
  double index, poff, plen, ooff;
  if (argc != 7 || !arg_view(env, argv[0], &key, &key_len) || !arg_uint(env, argv[1], 9007199254740991.0, &index) ||
      !arg_view(env, argv[2], &plain, &plain_len) || !arg_uint(env, argv[3], 9007199254740991.0, &poff) ||
      !arg_uint(env, argv[4], 9007199254740991.0, &plen) || !arg_view(env, argv[5], &out, &out_len) ||
      !arg_uint(env, argv[6], 9007199254740991.0, &ooff)) {
    THROW(env, "bad arguments, expected: (key, index, plain, plainOffset, plainLength, out, outOffset)");
  }
  if (key_len != SEGMENT_KEY_BYTES) THROW(env, "key must be 32 bytes");
  if (poff + plen > (double) plain_len) THROW(env, "plainOffset + plainLength > plain.length");
  if (ooff + plen + SEGMENT_TAG_BYTES > (double) out_len) THROW(env, "out is too short");
  const char *err = segment_gcm(key, (uint64_t) index, plain + (size_t) poff, (size_t) plen, out + (size_t) ooff);
  if (err) THROW(env, err);
  return NULL;
}

/* ---- object checksums ---------------------------------------------------------------- */

/* Synchronous: a request chunk (16-64 KiB) takes a few microseconds, less than a trip
 * through the threadpool. (buffer, offset, length, previous) → (bytes, length). */
static const char *arg_crc_input(napi_env env, size_t argc, napi_value *argv, uint8_t **bytes, size_t *n) {
  uint8_t *buf;
  size_t len;
  double off, count;
  if (argc != 4 || !arg_view(env, argv[0], &buf, &len) || !arg_uint(env, argv[1], 9007199254740991.0, &off) ||
      !arg_uint(env, argv[2], 9007199254740991.0, &count)) {
    return "bad arguments, expected: (buffer, offset, length, previous)";
  }
  if (off + count > (double) len) return "offset + length > buffer.length";
  *bytes = buf + (size_t) off;
  *n = (size_t) count;
  return NULL;
}

typedef uint32_t (*crc32_fn)(uint32_t, const uint8_t *, size_t);

static napi_value crc32_common(napi_env env, napi_callback_info info, crc32_fn fn) {
  size_t argc = 4;
  napi_value argv[4], out;
  uint8_t *bytes;
  size_t n;
  double previous;
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const char *err = arg_crc_input(env, argc, argv, &bytes, &n);
  if (err) THROW(env, err);
  if (!arg_uint(env, argv[3], 4294967295.0, &previous)) THROW(env, "previous must be a uint32");
  OK(napi_create_uint32(env, fn((uint32_t) previous, bytes, n), &out));
  return out;
}

/* crc32(buffer, offset, length, previous) → number (zlib's CRC-32) */
static napi_value crc32_js(napi_env env, napi_callback_info info) {
  return crc32_common(env, info, crc32_update);
}

/* crc32c(buffer, offset, length, previous) → number */
static napi_value crc32c_js(napi_env env, napi_callback_info info) {
  return crc32_common(env, info, crc32c_update);
}

/* crc64nvme(buffer, offset, length, previous: bigint) → bigint */
static napi_value crc64nvme_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  uint8_t *bytes;
  size_t n;
  uint64_t previous = 0;
  bool lossless = false;
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const char *err = arg_crc_input(env, argc, argv, &bytes, &n);
  if (err) THROW(env, err);
  if (napi_get_value_bigint_uint64(env, argv[3], &previous, &lossless) != napi_ok || !lossless) {
    THROW(env, "previous must be a uint64 bigint");
  }
  OK(napi_create_bigint_uint64(env, crc64nvme_update(previous, bytes, n), &out));
  return out;
}

/* setCrcKernel(name): process-wide, for tests and benchmarks. */
static napi_value set_crc_kernel_js(napi_env env, napi_callback_info info) {
  char name[32];
  if (!name_arg(env, info, name, sizeof(name))) THROW(env, "bad arguments, expected: (CRC kernel name)");
  for (int k = 0; k < CRC_KERNEL_COUNT; k++) {
    if (strcmp(name, crc_kernel_names[k]) != 0) continue;
    if (!crc_kernel_supported((crc_kernel) k)) THROW(env, "CRC kernel is not supported by this CPU");
    crc_kernel_set((crc_kernel) k);
    return NULL;
  }
  THROW(env, "unknown CRC kernel");
}

/* setGcmKernel(name): process-wide, for tests and benchmarks. */
static napi_value set_gcm_kernel_js(napi_env env, napi_callback_info info) {
  char name[32];
  if (!name_arg(env, info, name, sizeof(name))) THROW(env, "bad arguments, expected: (GCM kernel name)");
  for (int k = 0; k < GCM_KERNEL_COUNT; k++) {
    if (strcmp(name, gcm_kernel_names[k]) != 0) continue;
    if (!gcm_kernel_supported((gcm_kernel) k)) THROW(env, "GCM kernel is not supported by this CPU");
    gcm_kernel_set((gcm_kernel) k);
    return NULL;
  }
  THROW(env, "unknown GCM kernel");
}

/* setPieceHash(name): "sha-ni-x4" or "openssl", process-wide, for tests and benchmarks. */
static napi_value set_piece_hash_js(napi_env env, napi_callback_info info) {
  char name[32];
  if (!name_arg(env, info, name, sizeof(name))) THROW(env, "bad arguments, expected: (piece hash name)");
  if (strcmp(name, "openssl") == 0) {
    segment_set_lanes(0);
    return NULL;
  }
  if (strcmp(name, "sha-ni-x4") == 0) {
    if (!sha256_lanes_supported()) THROW(env, "piece hash is not supported by this CPU");
    segment_set_lanes(1);
    return NULL;
  }
  THROW(env, "unknown piece hash");
}

/* ---- reads the page cache can answer at once ------------------------------------------ */

/*
 * preadCached(fd, buffer, position) → bytes read (0..buffer.length), or -1 when none of it is
 * in the page cache (or the kernel cannot tell: not Linux, no RWF_NOWAIT, a file system that
 * refuses it). Never waits for the disk (preadv2 with RWF_NOWAIT, Linux 4.14+), so a store can
 * serve a cached piece on its event loop and send only the rest to the threadpool.
 */
static napi_value pread_cached_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  uint8_t *buf;
  size_t len;
  double fd, pos;
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !arg_uint(env, argv[0], 2147483647.0, &fd) || !arg_view(env, argv[1], &buf, &len) ||
      !arg_uint(env, argv[2], 9007199254740991.0, &pos)) {
    THROW(env, "bad arguments, expected: (fd, buffer, position)");
  }
  double got = -1;
#if defined(__linux__) && defined(RWF_NOWAIT)
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  ssize_t n;
  do n = preadv2((int) fd, &iov, 1, (off_t) pos, RWF_NOWAIT); while (n < 0 && errno == EINTR);
  if (n >= 0) got = (double) n;
#else
  (void) buf; (void) len; (void) fd; (void) pos;
#endif
  OK(napi_create_double(env, got, &out));
  return out;
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value v;
  OK(napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &v));
  OK(napi_set_named_property(env, exports, name, v));
}

static napi_value init(napi_env env, napi_value exports) {
  static int ready;
  if (!ready) {
    /* 426 ones is ronomon's own figure for 10+6 (PARAMETERS[9][5]): a cheap proof at load
     * time that we build the very matrix it does. */
    if (rs_matrix_init() != 426) THROW(env, "Reed-Solomon matrix does not match the reference");
    (void) rs_encode_program();
    const char *err = crypto_init();
    if (err) THROW(env, err);
    current_kernel = kernel_best();
    crc_init();
    gcm_init_kernel();
    segment_init_hashing();
    ready = 1;
  }
  export_fn(env, exports, "info", info_js);
  export_fn(env, exports, "setKernel", set_kernel_js);
  export_fn(env, exports, "rsRun", rs_run_js);
  export_fn(env, exports, "segmentEncode", segment_encode_js);
  export_fn(env, exports, "segmentDecode", segment_decode_js);
  export_fn(env, exports, "md5Create", md5_create_js);
  export_fn(env, exports, "md5Update", md5_update_js);
  export_fn(env, exports, "md5Digest", md5_digest_js);
  export_fn(env, exports, "md5xCreate", md5x_create_js);
  export_fn(env, exports, "md5xUpdateMany", md5x_update_many_js);
  export_fn(env, exports, "md5xDigest", md5x_digest_js);
  export_fn(env, exports, "gcm", gcm_js);
  export_fn(env, exports, "isalRun", isal_run_js);
  export_fn(env, exports, "isalAvailable", isal_available_js);
  export_fn(env, exports, "crc32", crc32_js);
  export_fn(env, exports, "crc32c", crc32c_js);
  export_fn(env, exports, "crc64nvme", crc64nvme_js);
  export_fn(env, exports, "setCrcKernel", set_crc_kernel_js);
  export_fn(env, exports, "setGcmKernel", set_gcm_kernel_js);
  export_fn(env, exports, "setPieceHash", set_piece_hash_js);
  export_fn(env, exports, "preadCached", pread_cached_js);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
