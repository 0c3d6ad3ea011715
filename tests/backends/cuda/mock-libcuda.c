/*
 * A stand-in for libcuda.so.1 for tests on machines without an NVIDIA driver: the driver
 * API calls the CUDA backend binds, over host memory. "Modules" are shared objects built by
 * the host emulator (emulator.ts): cuModuleLoadData takes the image "AUGEMU:<path>",
 * cuModuleGetFunction finds its launcher, and cuLaunchKernel calls it with the kernel
 * parameters exactly as the real driver receives them (an array of pointers to values).
 * mock_* functions let a test read counters and inject errors.
 *
 * Build: cc -shared -fPIC -o libcuda-mock.so mock-libcuda.c -ldl
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef void (*launcher_t)(unsigned blocks, unsigned threads, void **args);

static long live_allocs, launches, syncs;
static unsigned last_grid, last_block, last_shared;
static int fail_next_sync, fail_next_alloc;
static size_t alloc_limit = (size_t)1 << 34;

static const char *error_name(int code) {
  switch (code) {
    case 0: return "CUDA_SUCCESS";
    case 1: return "CUDA_ERROR_INVALID_VALUE";
    case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
    case 100: return "CUDA_ERROR_NO_DEVICE";
    case 200: return "CUDA_ERROR_INVALID_IMAGE";
    case 500: return "CUDA_ERROR_NOT_FOUND";
    case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS";
    default: return NULL;
  }
}

static const char *error_text(int code) {
  switch (code) {
    case 0: return "no error";
    case 1: return "invalid argument";
    case 2: return "out of memory";
    case 100: return "no CUDA-capable device is detected";
    case 200: return "device kernel image is invalid";
    case 500: return "named symbol not found";
    case 700: return "an illegal memory access was encountered";
    default: return NULL;
  }
}

CUresult cuGetErrorName(CUresult e, const char **s) { *s = error_name(e); return *s ? 0 : 1; }
CUresult cuGetErrorString(CUresult e, const char **s) { *s = error_text(e); return *s ? 0 : 1; }

CUresult cuInit(unsigned flags) {
  const char *fail = getenv("MOCK_CUDA_INIT_ERROR");
  (void)flags;
  return fail ? atoi(fail) : 0;
}
CUresult cuDriverGetVersion(int *v) { *v = 12040; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
  (void)dev;
  switch (attr) {
    case 75: *v = 9; break;
    case 76: *v = 0; break;
    case 16: *v = 132; break;
    case 8: *v = 49152; break;
    default: *v = 0;
  }
  return 0;
}
CUresult cuDeviceGetName(char *name, int len, int dev) { (void)dev; strncpy(name, "Mock Device (host emulator)", (size_t)len); return 0; }
CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = (size_t)1 << 30; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = (void *)0x1000; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1000 ? 0 : 201; }
CUresult cuMemGetInfo_v2(size_t *free_, size_t *total) { *free_ = (size_t)1 << 29; *total = (size_t)1 << 30; return 0; }

CUresult cuMemAlloc_v2(uint64_t *p, size_t bytes) {
  if (bytes == 0) return 1;
  if (fail_next_alloc) { fail_next_alloc = 0; return 2; }
  if (bytes > alloc_limit) return 2;
  void *m = malloc(bytes);
  if (!m) return 2;
  memset(m, 0xa5, bytes); /* device memory starts as garbage */
  *p = (uint64_t)(uintptr_t)m;
  live_allocs++;
  return 0;
}
CUresult cuMemFree_v2(uint64_t p) { free((void *)(uintptr_t)p); live_allocs--; return 0; }
CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) { memcpy((void *)(uintptr_t)dst, src, n); return 0; }
CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) { memcpy(dst, (void *)(uintptr_t)src, n); return 0; }
CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t n, void *s) { (void)s; return cuMemcpyHtoD_v2(dst, src, n); }
CUresult cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t n, void *s) { (void)s; return cuMemcpyDtoH_v2(dst, src, n); }
CUresult cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void *s) { (void)s; memcpy((void *)(uintptr_t)dst, (void *)(uintptr_t)src, n); return 0; }
CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = (void *)0x2000; return 0; }
CUresult cuStreamSynchronize(void *s) {
  if (s != (void *)0x2000) return 400;
  syncs++;
  if (fail_next_sync) { int e = fail_next_sync; fail_next_sync = 0; return e; }
  return 0;
}

CUresult cuModuleLoadData(void **module, const void *image) {
  const char *s = (const char *)image;
  if (strncmp(s, "AUGEMU:", 7) != 0) return 200;
  void *h = dlopen(s + 7, RTLD_NOW | RTLD_LOCAL);
  if (!h) return 200;
  *module = h;
  return 0;
}
CUresult cuModuleGetFunction(void **fn, void *module, const char *name) {
  if (strcmp(name, "augerino_kernel") != 0) return 500;
  void *f = dlsym(module, "aug_launch");
  if (!f) return 500;
  *fn = f;
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **extra) {
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || extra != NULL || stream != (void *)0x2000) return 1;
  if (bx == 0 || bx > 1024 || gx == 0) return 1;
  last_grid = gx;
  last_block = bx;
  last_shared = shared;
  launches++;
  ((launcher_t)f)(gx, bx, params);
  return 0;
}

/* Test hooks. */
void mock_stats(int64_t *out) {
  out[0] = live_allocs;
  out[1] = launches;
  out[2] = syncs;
  out[3] = last_grid;
  out[4] = last_block;
}
void mock_fail_next_sync(int code) { fail_next_sync = code; }
void mock_fail_next_alloc(void) { fail_next_alloc = 1; }
