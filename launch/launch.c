/* tile._launch: the host side of a cached kernel launch, in C.
 *
 * Written against the CPython stable ABI (3.11): one `_launch.abi3.so` serves
 * every Python from 3.11 on. The CUDA driver is opened with dlopen on first
 * launch, so importing this module needs no GPU and no libcuda.
 *
 *   configure(table)     the launch ABI's rules (python/tile/runtime/abi.py,
 *                        `native_table()`): nothing below restates one
 *   plan(...)            a loaded specialization's launch plan: the function,
 *                        its context, block, shared bytes and the parameter
 *                        layout (offset and struct code of each kernel parameter
 *                        and where its value sits among the call's raw values)
 *   read_arguments(values)   the fast path's reading of arguments (for tests)
 *   pack(plan, raw, descriptors)    the parameter bytes (for tests)
 *   launch(plan, grid, stream, raw, descriptors)   pack, then cuLaunchKernel
 *   Bound(kernel, fn, grid)   `kernel[grid]`: calling it binds the arguments
 *                        (the kernel's generated binder), reads ints, floats
 *                        and torch tensors into the specialization key, finds
 *                        the plan and launches. Anything else (another array
 *                        type, a new key, a value out of range, a TMA
 *                        descriptor not yet encoded, TILE_INTERPRET) goes to
 *                        the Python launch path, which also raises every
 *                        argument error.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <dlfcn.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"

/* -- the driver ------------------------------------------------------------------------- */
typedef int CUresult;
typedef CUresult (*LaunchFn)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, void *, void **, void **);
typedef CUresult (*CtxGetFn)(void **);
typedef CUresult (*CtxSetFn)(void *);
typedef CUresult (*ErrorFn)(CUresult, const char **);

static struct {
  void *handle;
  LaunchFn launch;
  CtxGetFn ctx_get;
  CtxSetFn ctx_set;
  ErrorFn error_name, error_string;
  char path[1024];
} drv;

static const char *const DEFAULT_DRIVER = "libcuda.so.1";
PyObject *tl_CudaError; /* tile.runtime.driver.CudaError once configured */

static int load_driver(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    PyErr_Format(tl_CudaError, "cannot load the CUDA driver %s: %s", path, why ? why : "?");
    return -1;
  }
  static const char *const names[] = {"cuLaunchKernel", "cuCtxGetCurrent", "cuCtxSetCurrent",
                                      "cuGetErrorName", "cuGetErrorString"};
  /* Entry points through cuGetProcAddress, as the CUDA runtime and cuda-python take
   * them: profilers and tools (Nsight Compute) hook that table, and did not see
   * launches through the exported symbols. The symbols are the fallback. */
  typedef CUresult (*ProcAddressFn)(const char *, void **, int, unsigned long long);
  ProcAddressFn proc_address = (ProcAddressFn)dlsym(handle, "cuGetProcAddress");
  void *found[5];
  for (int i = 0; i < 5; i++) {
    found[i] = NULL;
    if (proc_address && proc_address(names[i], &found[i], 12000, 0) != 0) found[i] = NULL;
    if (!found[i]) found[i] = dlsym(handle, names[i]);
    if (!found[i]) {
      PyErr_Format(tl_CudaError, "the CUDA driver %s has no %s", path, names[i]);
      dlclose(handle);
      return -1;
    }
  }
  drv.handle = handle; /* a replaced library stays loaded: plans may still point into it */
  *(void **)&drv.launch = found[0];
  *(void **)&drv.ctx_get = found[1];
  *(void **)&drv.ctx_set = found[2];
  *(void **)&drv.error_name = found[3];
  *(void **)&drv.error_string = found[4];
  snprintf(drv.path, sizeof drv.path, "%s", path);
  return 0;
}

static inline int ensure_driver(void) { return drv.launch ? 0 : load_driver(DEFAULT_DRIVER); }

static void raise_cuda(CUresult code) {
  const char *name = NULL, *text = NULL;
  if (drv.error_name(code, &name) != 0) name = NULL;
  if (drv.error_string(code, &text) != 0) text = NULL;
  if (name)
    PyErr_Format(tl_CudaError, "%s: %s", name, text ? text : "");
  else
    PyErr_Format(tl_CudaError, "CUresult %d: %s", code, text ? text : "");
}

/* cuLaunchKernel in the plan's context (made current for the launch when another or none is). */
int tl_driver_launch(const Plan *p, const unsigned grid[3], unsigned long long stream,
                     unsigned char *buffer) {
  void *stack_params[64], **params = stack_params;
  if (p->nslots > 64 && !(params = malloc(sizeof(void *) * p->nslots))) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < p->nslots; i++) params[i] = buffer + p->slots[i].offset;
  void *function = (void *)(uintptr_t)p->function, *context = (void *)(uintptr_t)p->context;
  void *current = NULL;
  CUresult r;
  Py_BEGIN_ALLOW_THREADS
  r = drv.ctx_get(&current);
  if (r == 0 && current == context) {
    r = drv.launch(function, grid[0], grid[1], grid[2], p->block[0], p->block[1], p->block[2],
                   p->shared, (void *)(uintptr_t)stream, params, NULL);
  } else if (r == 0 && (r = drv.ctx_set(context)) == 0) {
    r = drv.launch(function, grid[0], grid[1], grid[2], p->block[0], p->block[1], p->block[2],
                   p->shared, (void *)(uintptr_t)stream, params, NULL);
    if (current) {
      CUresult restored = drv.ctx_set(current);
      if (r == 0) r = restored;
    }
  }
  Py_END_ALLOW_THREADS
  if (params != stack_params) free(params);
  if (r != 0) {
    raise_cuda(r);
    return -1;
  }
  return 0;
}

/* -- plans -------------------------------------------------------------------------------- */
static void plan_free(PyObject *capsule) {
  Plan *p = PyCapsule_GetPointer(capsule, PLAN_CAPSULE);
  if (!p) return;
  for (Py_ssize_t i = 0; i < p->ntma; i++) Py_XDECREF(p->tma[i].table);
  free(p->slots);
  free(p->tma);
  free(p);
}

Plan *tl_plan_of(PyObject *capsule) { return PyCapsule_GetPointer(capsule, PLAN_CAPSULE); }

static int as_u32(PyObject *seq, Py_ssize_t i, unsigned *out, const char *what) {
  PyObject *item = PySequence_GetItem(seq, i);
  if (!item) return -1;
  unsigned long v = PyLong_AsUnsignedLong(item);
  Py_DECREF(item);
  if (PyErr_Occurred()) return -1;
  if (v > 0xFFFFFFFFul) {
    PyErr_Format(PyExc_ValueError, "plan: %s %lu does not fit in 32 bits", what, v);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

/* A slot's struct code ('Q', 'i', 'f' or '<n>s', runtime/abi.py) as its kind and size;
 * -1 with an error for any other. */
static int parse_code(PyObject *code, Slot *s) {
  const char *text = PyUnicode_Check(code) ? PyUnicode_AsUTF8AndSize(code, NULL) : NULL;
  if (!text) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "plan: a slot code is a str");
    return -1;
  }
  static const struct { const char *code; unsigned kind, size; } scalars[] = {
      {"Q", SLOT_PTR, 8}, {"i", SLOT_I32, 4}, {"f", SLOT_F32, 4}};
  for (int i = 0; i < 3; i++)
    if (strcmp(text, scalars[i].code) == 0) {
      s->kind = scalars[i].kind;
      s->size = scalars[i].size;
      return 0;
    }
  char *end;
  unsigned long n = strtoul(text, &end, 10);
  if (end != text && strcmp(end, "s") == 0 && n > 0 && n <= LOCAL_BUFFER) {
    s->kind = SLOT_BYTES;
    s->size = (unsigned)n;
    return 0;
  }
  PyErr_Format(PyExc_ValueError, "plan: unknown slot code '%s'", text);
  return -1;
}

/* plan(function, context, block, shared, size, slots, tma)
 * slots: per kernel parameter, (code, offset, index): code a struct code, 'Q' pointer,
 *        'i' int32, 'f' float32, '<n>s' n bytes (a TMA descriptor); index: where the value
 *        sits among the raw values, or for '<n>s' the entry of `tma`.
 * tma:   per descriptor, (base, count, table): the array's raw values are
 *        raw[base .. base + count), and `table` (the descriptor cache's dict of its
 *        encoding) maps them, as a tuple, to the descriptor's bytes; the fast path looks
 *        descriptors up there. */
static PyObject *py_plan(PyObject *mod, PyObject *args) {
  (void)mod;
  unsigned long long function, context;
  PyObject *block, *slots, *tma;
  unsigned shared, size;
  if (!PyArg_ParseTuple(args, "KKOIIOO:plan", &function, &context, &block, &shared, &size,
                        &slots, &tma))
    return NULL;
  Plan *p = calloc(1, sizeof(Plan));
  if (!p) return PyErr_NoMemory();
  PyObject *capsule = PyCapsule_New(p, PLAN_CAPSULE, plan_free);
  if (!capsule) {
    free(p);
    return NULL;
  }
  p->function = function;
  p->context = context;
  p->shared = shared;
  p->size = size;
  if (PySequence_Size(block) != 3) {
    PyErr_SetString(PyExc_ValueError, "plan: block is 3 ints");
    goto fail;
  }
  for (int i = 0; i < 3; i++)
    if (as_u32(block, i, &p->block[i], "block") < 0) goto fail;
  Py_ssize_t nslots = PySequence_Size(slots), ntma = PySequence_Size(tma);
  if (nslots < 0 || ntma < 0) goto fail;
  p->slots = calloc(nslots ? nslots : 1, sizeof(Slot));
  p->tma = calloc(ntma ? ntma : 1, sizeof(TmaSlot));
  if (!p->slots || !p->tma) {
    PyErr_NoMemory();
    goto fail;
  }
  p->ntma = ntma;
  for (Py_ssize_t i = 0; i < ntma; i++) {
    PyObject *entry = PySequence_GetItem(tma, i);
    if (!entry) goto fail;
    TmaSlot *t = &p->tma[i];
    int ok = PySequence_Size(entry) == 3 && as_u32(entry, 0, &t->base, "base") == 0 &&
             as_u32(entry, 1, &t->count, "count") == 0;
    if (ok) ok = (t->table = PySequence_GetItem(entry, 2)) != NULL;
    Py_DECREF(entry);
    if (!ok) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "plan: a TMA entry is 3 items");
      goto fail;
    }
    if (!PyDict_Check(t->table) || t->count < 1) {
      PyErr_SetString(PyExc_TypeError, "plan: a TMA entry's table is a dict, count above 0");
      goto fail;
    }
  }
  p->nslots = nslots;
  for (Py_ssize_t i = 0; i < nslots; i++) {
    PyObject *entry = PySequence_GetItem(slots, i), *code = NULL;
    if (!entry) goto fail;
    Slot *s = &p->slots[i];
    int ok = PySequence_Size(entry) == 3 && (code = PySequence_GetItem(entry, 0)) &&
             parse_code(code, s) == 0 && as_u32(entry, 1, &s->offset, "offset") == 0 &&
             as_u32(entry, 2, &s->index, "index") == 0;
    Py_XDECREF(code);
    Py_DECREF(entry);
    if (!ok) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "plan: a slot is 3 items");
      goto fail;
    }
    if ((unsigned long long)s->offset + s->size > size ||
        (s->kind == SLOT_BYTES && s->index >= ntma)) {
      PyErr_Format(PyExc_ValueError, "plan: slot %zd (kind %u, offset %u, index %u) does not "
                   "fit a %u-byte buffer", i, s->kind, s->offset, s->index, size);
      goto fail;
    }
    if (s->kind == SLOT_BYTES) { /* the descriptor's bytes go to its slot */
      p->tma[s->index].size = s->size;
      p->tma[s->index].offset = s->offset;
    }
  }
  for (Py_ssize_t i = 0; i < ntma; i++)
    if (!p->tma[i].size) {
      PyErr_Format(PyExc_ValueError, "plan: TMA entry %zd has no slot", i);
      goto fail;
    }
  return capsule;
fail:
  Py_DECREF(capsule);
  return NULL;
}

/* -- packing -------------------------------------------------------------------------------- */
static int put_i32(unsigned char *at, long long v) {
  if (v < INT32_MIN || v > INT32_MAX) return -1;
  int32_t x = (int32_t)v;
  memcpy(at, &x, 4);
  return 0;
}

static int put_f32(unsigned char *at, double v) {
  float x = (float)v; /* as struct's 'f': round to nearest, overflow is an error */
  if (isinf(x) && !isinf(v)) return -1;
  memcpy(at, &x, 4);
  return 0;
}

/* Fills `buffer` from Python raw values (a list or tuple) and descriptor blobs (one per
 * TMA entry, of its slot's size). A value that does not fit its parameter raises OverflowError
 * naming the parameter's index. */
int tl_fill_from_python(const Plan *p, PyObject *raw, PyObject *blobs, unsigned char *buffer) {
  int is_list = PyList_Check(raw);
  if (!is_list && !PyTuple_Check(raw)) {
    PyErr_SetString(PyExc_TypeError, "raw values are a list or tuple");
    return -1;
  }
  Py_ssize_t nraw = is_list ? PyList_Size(raw) : PyTuple_Size(raw);
  memset(buffer, 0, p->size);
  for (Py_ssize_t i = 0; i < p->nslots; i++) {
    const Slot *s = &p->slots[i];
    unsigned char *at = buffer + s->offset;
    if (s->kind == SLOT_BYTES) {
      PyObject *blob = PySequence_GetItem(blobs, s->index);
      if (!blob) return -1;
      Py_buffer view;
      int got = PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE);
      Py_DECREF(blob);
      if (got < 0) return -1;
      int ok = view.len == s->size;
      if (ok) memcpy(at, view.buf, s->size);
      PyBuffer_Release(&view);
      if (!ok) {
        PyErr_Format(PyExc_ValueError, "TMA descriptor %u is not %u bytes", s->index, s->size);
        return -1;
      }
      continue;
    }
    if ((Py_ssize_t)s->index >= nraw) {
      PyErr_Format(PyExc_IndexError, "parameter %zd reads raw value %u of %zd", i, s->index,
                   nraw);
      return -1;
    }
    PyObject *v = is_list ? PyList_GetItem(raw, s->index) : PyTuple_GetItem(raw, s->index);
    int bad;
    if (s->kind == SLOT_PTR) {
      unsigned long long u = PyLong_AsUnsignedLongLong(v);
      if (u == (unsigned long long)-1 && PyErr_Occurred()) return -1;
      memcpy(at, &u, 8);
      bad = 0;
    } else if (s->kind == SLOT_I32) {
      long long x = PyLong_AsLongLong(v);
      if (x == -1 && PyErr_Occurred()) return -1;
      bad = put_i32(at, x);
    } else {
      double x = PyFloat_AsDouble(v);
      if (x == -1.0 && PyErr_Occurred()) return -1;
      bad = put_f32(at, x);
    }
    if (bad) {
      PyErr_Format(PyExc_OverflowError, "parameter %zd does not fit its type", i);
      return -1;
    }
  }
  return 0;
}

/* Fills `buffer` from the fast path's C values; 1 when a value does not fit (the Python
 * path then names it), 0 when filled. TMA descriptors are filled by the caller. */
int tl_fill_from_c(const Plan *p, const Raw *raw, unsigned char *buffer) {
  memset(buffer, 0, p->size);
  for (Py_ssize_t i = 0; i < p->nslots; i++) {
    const Slot *s = &p->slots[i];
    unsigned char *at = buffer + s->offset;
    if (s->kind == SLOT_PTR)
      memcpy(at, &raw[s->index].u, 8);
    else if (s->kind == SLOT_I32) {
      if (put_i32(at, raw[s->index].i)) return 1;
    } else if (s->kind == SLOT_F32) {
      if (put_f32(at, raw[s->index].f)) return 1;
    }
  }
  return 0;
}

/* A 64-byte aligned parameter buffer (a CUtensorMap wants 64), on the stack when small. */
unsigned char *tl_buffer(const Plan *p, unsigned char *local, size_t local_size) {
  if (p->size <= local_size) return local;
  unsigned char *heap = aligned_alloc(64, (p->size + 63) & ~(size_t)63);
  if (!heap) PyErr_NoMemory();
  return heap;
}

static PyObject *py_pack(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *capsule, *raw, *blobs;
  if (!PyArg_ParseTuple(args, "OOO:pack", &capsule, &raw, &blobs)) return NULL;
  Plan *p = tl_plan_of(capsule);
  if (!p) return NULL;
  unsigned char local[LOCAL_BUFFER] __attribute__((aligned(64)));
  unsigned char *buffer = tl_buffer(p, local, sizeof local);
  if (!buffer) return NULL;
  PyObject *result = NULL;
  if (tl_fill_from_python(p, raw, blobs, buffer) == 0)
    result = PyBytes_FromStringAndSize((const char *)buffer, p->size);
  if (buffer != local) free(buffer);
  return result;
}

/* 0 with the grid in out; 1 for anything else (more than the configured limits included). */
int tl_grid_from_tuple(PyObject *grid, unsigned out[3]) {
  const long long *limits = tl_rules.grid_limits;
  Py_ssize_t n = PyTuple_Size(grid);
  if (n < 1 || n > 3) return 1;
  out[0] = out[1] = out[2] = 1;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *v = PyTuple_GetItem(grid, i);
    if (!Py_IS_TYPE(v, &PyLong_Type)) return 1;
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || x < 1 || x > limits[i]) return 1;
    out[i] = (unsigned)x;
  }
  return 0;
}

static PyObject *py_launch(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *capsule, *grid, *raw, *blobs;
  unsigned long long stream;
  if (!PyArg_ParseTuple(args, "OO!KOO:launch", &capsule, &PyTuple_Type, &grid, &stream, &raw,
                        &blobs))
    return NULL;
  Plan *p = tl_plan_of(capsule);
  if (!p) return NULL;
  unsigned g[3];
  if (tl_grid_from_tuple(grid, g)) {
    PyErr_SetString(PyExc_ValueError, "launch: the grid is 1 to 3 ints within the CUDA limits");
    return NULL;
  }
  if (ensure_driver() < 0) return NULL;
  unsigned char local[LOCAL_BUFFER] __attribute__((aligned(64)));
  unsigned char *buffer = tl_buffer(p, local, sizeof local);
  if (!buffer) return NULL;
  int status = tl_fill_from_python(p, raw, blobs, buffer);
  if (status == 0) status = tl_driver_launch(p, g, stream, buffer);
  if (buffer != local) free(buffer);
  if (status < 0) return NULL;
  tl_stats.python_path++;
  Py_RETURN_NONE;
}

int tl_ensure_driver(void) { return ensure_driver(); }

static PyObject *py_use_driver(PyObject *mod, PyObject *args) {
  (void)mod;
  const char *path = NULL;
  if (!PyArg_ParseTuple(args, "|z:use_driver", &path)) return NULL;
  if (!path) {
    memset(&drv, 0, sizeof drv); /* the next launch opens libcuda.so.1 again */
    Py_RETURN_NONE;
  }
  if (load_driver(path) < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *py_driver_path(PyObject *mod, PyObject *unused) {
  (void)mod;
  (void)unused;
  if (!drv.launch) Py_RETURN_NONE;
  return PyUnicode_FromString(drv.path);
}

static PyObject *py_stats(PyObject *mod, PyObject *unused) {
  (void)mod;
  (void)unused;
  return Py_BuildValue("{s:K,s:K,s:K,s:K,s:s}", "fast", tl_stats.fast, "memo_hits",
                       tl_stats.memo_hits, "declined", tl_stats.declined, "python_path",
                       tl_stats.python_path, "last_decline",
                       tl_stats.last_decline ? tl_stats.last_decline : "");
}

static PyMethodDef methods[] = {
    {"plan", py_plan, METH_VARARGS, "plan(function, context, block, shared, size, slots, tma) "
                                    "-> a launch plan"},
    {"pack", py_pack, METH_VARARGS, "pack(plan, raw, descriptors) -> the parameter bytes"},
    {"launch", py_launch, METH_VARARGS, "launch(plan, grid3, stream, raw, descriptors)"},
    {"configure", tl_py_configure, METH_O,
     "configure(table): the ABI's rules and the runtime objects the fast path reads "
     "(tile.runtime.abi.native_table())"},
    {"read_arguments", tl_py_read_arguments, METH_O,
     "read_arguments(values) -> (key parts, raw values, device), as the fast path reads "
     "them, or (None, why) when it leaves them to the Python path"},
    {"kernel", tl_py_kernel, METH_VARARGS, "kernel(name, params, npositional, no_default, "
                                           "table, slow, grid, interpret) -> the per-kernel "
                                           "state Bound reads (bind.c)"},
    {"forget", tl_py_forget, METH_O, "forget(kernel): drops the plans its memo holds"},
    {"use_driver", py_use_driver, METH_VARARGS,
     "use_driver(path=None): the driver library to launch through (None: libcuda.so.1, "
     "opened at the next launch)"},
    {"driver_path", py_driver_path, METH_NOARGS, "the driver library in use, None before one"},
    {"stats", py_stats, METH_NOARGS, "counts: launches on the fast path, calls whose plan "
                                     "the memo found, calls declined to the Python path, "
                                     "launches from Python"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_launch",
                                    "The host side of a cached tile launch, in C.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__launch(void) {
  PyObject *m = PyModule_Create(&module);
  if (!m) return NULL;
  tl_CudaError = PyExc_RuntimeError;
  Py_INCREF(tl_CudaError);
  PyObject *bound = tl_bound_type(), *base = bound ? tl_kernel_base_type() : NULL;
  if (!base || PyModule_AddObject(m, "Bound", bound) < 0) {
    Py_XDECREF(bound);
    Py_XDECREF(base);
    Py_DECREF(m);
    return NULL;
  }
  if (PyModule_AddObject(m, "KernelBase", base) < 0) {
    Py_DECREF(base);
    Py_DECREF(m);
    return NULL;
  }
  if (PyModule_AddIntConstant(m, "LIMITED_API", Py_LIMITED_API) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
