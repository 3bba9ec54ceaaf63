/* A stand-in for libcuda, for CPU tests of the C launch path (tile._launch): it records
 * each cuLaunchKernel, copying the parameters at the offsets and sizes the test sets,
 * and keeps one current context. Built by the tests with `cc -shared -fPIC`. */
#include <stdint.h>
#include <string.h>

typedef int CUresult;
#define MAX_PARAMS 64
#define MAX_BYTES 8192

unsigned fake_nparams, fake_offsets[MAX_PARAMS], fake_sizes[MAX_PARAMS];
CUresult fake_result;        /* what cuLaunchKernel returns */
uintptr_t fake_current;      /* the current context */
int fake_launches, fake_context_sets;
uintptr_t fake_function, fake_stream, fake_context_at_launch;
unsigned fake_grid[3], fake_block[3], fake_shared;
unsigned char fake_params[MAX_BYTES];
int fake_extra_used;

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned shared, void *stream, void **params,
                        void **extra) {
  if (fake_result) return fake_result;
  fake_launches++;
  fake_function = (uintptr_t)f;
  fake_stream = (uintptr_t)stream;
  fake_context_at_launch = fake_current;
  fake_grid[0] = gx, fake_grid[1] = gy, fake_grid[2] = gz;
  fake_block[0] = bx, fake_block[1] = by, fake_block[2] = bz;
  fake_shared = shared;
  fake_extra_used = extra != 0;
  if (fake_nparams) memset(fake_params, 0, sizeof fake_params);
  for (unsigned i = 0; i < fake_nparams && i < MAX_PARAMS; i++)
    if (fake_offsets[i] + fake_sizes[i] <= MAX_BYTES)
      memcpy(fake_params + fake_offsets[i], params[i], fake_sizes[i]);
  return 0;
}

CUresult cuCtxGetCurrent(void **context) {
  *context = (void *)fake_current;
  return 0;
}

CUresult cuCtxSetCurrent(void *context) {
  fake_context_sets++;
  fake_current = (uintptr_t)context;
  return 0;
}

CUresult cuGetErrorName(CUresult code, const char **name) {
  *name = code == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : "CUDA_ERROR_UNKNOWN";
  return 0;
}

CUresult cuGetErrorString(CUresult code, const char **text) {
  *text = code == 700 ? "an illegal memory access was encountered" : "unknown error";
  return 0;
}

/* cuGetProcAddress, where the launch path takes its entry points: cuLaunchKernel comes
 * back as a wrapper that counts the launches made through the table. With
 * fake_proc_address_off set it fails, as a driver without it would. */
int fake_proc_address_off, fake_proc_version, fake_table_launches;

static CUresult table_launch(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned shared, void *stream,
                             void **params, void **extra) {
  fake_table_launches++;
  return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra);
}

CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, unsigned long long flags) {
  (void)flags;
  if (fake_proc_address_off) return 500; /* CUDA_ERROR_NOT_FOUND */
  fake_proc_version = version;
  if (!strcmp(symbol, "cuLaunchKernel")) *pfn = (void *)table_launch;
  else if (!strcmp(symbol, "cuCtxGetCurrent")) *pfn = (void *)cuCtxGetCurrent;
  else if (!strcmp(symbol, "cuCtxSetCurrent")) *pfn = (void *)cuCtxSetCurrent;
  else if (!strcmp(symbol, "cuGetErrorName")) *pfn = (void *)cuGetErrorName;
  else if (!strcmp(symbol, "cuGetErrorString")) *pfn = (void *)cuGetErrorString;
  else return 500;
  return 0;
}
