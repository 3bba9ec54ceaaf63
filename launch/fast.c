/* The fast path of `kernel[grid](...)`: `Bound`, called with the launch's arguments.
 *
 * It binds them by the kernel's signature (positional, keywords, defaults; anything unusual
 * is left to Python's own binding), reads each runtime argument (int, float, or a tensor of a class the runtime
 * recognised as torch: get_device(), dtype, data_ptr(), shape, stride()) into the
 * specialization key and the raw values, finds the key's plan and launches it.
 *
 * Its key is `collect`'s (runtime/arguments.py), except that a constexpr that is an int is
 * itself rather than its repr: (num_warps, num_stages, *constexprs, *argument parts, device).
 * Every case it does not handle goes to the kernel's `slow` function, with the key when it
 * got that far, so that the Python path launches (and raises every argument error) and
 * files the plan under the key for the next call.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "launch.h"

struct Stats tl_stats;

#define MAX_RAW 256
#define MAX_ARRAYS 32
#define MAX_RANK 16

static struct {
  PyObject *readers;       /* arguments._READERS: type -> reader */
  PyObject *reader_for;    /* arguments._reader_for: picks (and files) a new type's reader */
  PyObject *torch_reader;  /* the reader that marks torch tensor classes */
  PyObject *torch_dtypes;  /* torch dtype -> MLIR element type name */
  PyObject *float_key;     /* the key part of a float argument */
  PyObject *stream_handle; /* driver.stream_handle: an int handle from a stream object */
  PyObject *streams;       /* the launcher module: its `_torch_raw_stream(device)` */
} hooks;
static PyObject *s_get_device, *s_dtype, *s_data_ptr, *s_shape, *s_stride, *s_torch_stream;

PyObject *tl_py_configure(PyObject *mod, PyObject *args, PyObject *kwargs) {
  (void)mod;
  static char *names[] = {"readers", "reader_for", "torch_reader", "torch_dtypes", "float_key",
                          "stream_handle", "streams", "cuda_error", NULL};
  PyObject *v[8];
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO!OOOO:configure", names, &PyDict_Type,
                                   &v[0], &v[1], &v[2], &PyDict_Type, &v[3], &v[4], &v[5], &v[6],
                                   &v[7]))
    return NULL;
  PyObject **slots[] = {&hooks.readers, &hooks.reader_for, &hooks.torch_reader,
                        &hooks.torch_dtypes, &hooks.float_key, &hooks.stream_handle,
                        &hooks.streams, &tl_CudaError};
  for (int i = 0; i < 8; i++) {
    PyObject *old = *slots[i];
    Py_INCREF(v[i]);
    *slots[i] = v[i];
    Py_XDECREF(old);
  }
  if (!s_get_device) {
    s_get_device = PyUnicode_InternFromString("get_device");
    s_dtype = PyUnicode_InternFromString("dtype");
    s_data_ptr = PyUnicode_InternFromString("data_ptr");
    s_shape = PyUnicode_InternFromString("shape");
    s_stride = PyUnicode_InternFromString("stride");
    s_torch_stream = PyUnicode_InternFromString("_torch_raw_stream");
    if (!s_get_device || !s_dtype || !s_data_ptr || !s_shape || !s_stride || !s_torch_stream)
      return NULL;
  }
  Py_RETURN_NONE;
}

/* -- reading one call ----------------------------------------------------------------------- */
typedef struct {
  unsigned base;
  PyObject *shape, *strides; /* tuples, for the TMA descriptor key */
} ArrayRead;

typedef struct {
  Raw raw[MAX_RAW];
  Py_ssize_t nraw;
  ArrayRead arrays[MAX_ARRAYS];
  int narrays;
  long device; /* -1: no arrays */
  const char *why; /* why the call goes to the Python path */
} Call;

static int decline(Call *c, const char *why) {
  if (PyErr_Occurred()) PyErr_Clear(); /* the Python path meets it again and says it its way */
  c->why = why;
  return 1;
}

static PyObject *call_method(PyObject *obj, PyObject *name) {
  return PyObject_CallMethodObjArgs(obj, name, NULL);
}

/* An int64 (a pointer: also a uint64, stored as its bits); PyLong_AsLongAndOverflow is the
 * quick way in CPython 3.11 for values of more than one digit. */
static int as_i64(PyObject *o, long long *out, int pointer) {
  int overflow;
  long v = PyLong_AsLongAndOverflow(o, &overflow);
  if (v == -1 && PyErr_Occurred()) return -1;
  if (overflow) {
    if (!pointer || overflow < 0) return -1;
    unsigned long long u = PyLong_AsUnsignedLongLong(o);
    if (PyErr_Occurred()) return -1;
    memcpy(out, &u, 8);
    return 0;
  }
  if (pointer && v < 0) return -1;
  *out = v;
  return 0;
}

/* Reads the sizes or strides in tuple `t` into raw values and the key mask. */
static int read_extents(Call *c, PyObject *t, Py_ssize_t rank, unsigned long long *mask,
                        long long *last) {
  for (Py_ssize_t d = 0; d < rank; d++) {
    long long v;
    if (as_i64(PyTuple_GetItem(t, d), &v, 0) < 0)
      return decline(c, "a size or stride that is no int64");
    c->raw[c->nraw++].i = v;
    *mask = *mask << 1 | (v % 16 == 0);
    *last = v;
  }
  return 0;
}

/* A tuple (torch.Size is one) from a sequence: a new reference. */
static PyObject *as_tuple(PyObject *o) {
  if (o && PyTuple_Check(o)) return o;
  PyObject *t = o ? PySequence_Tuple(o) : NULL;
  Py_XDECREF(o);
  return t;
}

/* A torch tensor: its key part (dtype name, divisibility mask, as signature.array_key)
 * in *part, 0; or 1 to decline. */
static int read_torch(Call *c, PyObject *v, PyObject **part) {
  PyObject *o = call_method(v, s_get_device);
  if (!o) return decline(c, "get_device() failed");
  long device = PyLong_AsLong(o);
  Py_DECREF(o);
  if (device < 0) return decline(c, "a tensor not on a CUDA device");
  if (c->device >= 0 && device != c->device) return decline(c, "tensors on different devices");
  if (!(o = PyObject_GetAttr(v, s_dtype))) return decline(c, "no dtype");
  PyObject *element = PyDict_GetItemWithError(hooks.torch_dtypes, o);
  Py_DECREF(o);
  if (!element) return decline(c, "an unsupported tensor dtype");
  if (!(o = call_method(v, s_data_ptr))) return decline(c, "data_ptr() failed");
  long long pointer;
  int bad = as_i64(o, &pointer, 1);
  Py_DECREF(o);
  if (bad) return decline(c, "data_ptr() is not a pointer");
  PyObject *shape = as_tuple(PyObject_GetAttr(v, s_shape));
  PyObject *strides = shape ? as_tuple(call_method(v, s_stride)) : NULL;
  if (!shape || !strides) {
    Py_XDECREF(shape);
    return decline(c, "shape or stride() failed");
  }
  Py_ssize_t rank = PyTuple_Size(shape);
  if (c->narrays == MAX_ARRAYS || rank < 1 || rank > MAX_RANK ||
      PyTuple_Size(strides) != rank || c->nraw + 1 + 2 * rank > MAX_RAW) {
    Py_DECREF(shape);
    Py_DECREF(strides);
    return decline(c, "an array of unusual rank or too many arguments");
  }
  ArrayRead *a = &c->arrays[c->narrays++]; /* owns shape and strides from here */
  a->shape = shape;
  a->strides = strides;
  a->base = (unsigned)c->nraw;
  c->raw[c->nraw++].i = pointer;
  unsigned long long mask = 2 | ((unsigned long long)pointer % 16 == 0);
  long long last = 0;
  if (read_extents(c, shape, rank, &mask, &last) || read_extents(c, strides, rank, &mask, &last))
    return 1;
  mask = mask << 1 | (last == 1);
  c->device = device;
  PyObject *bits = PyLong_FromUnsignedLongLong(mask);
  if (!bits) return -1;
  *part = PyTuple_Pack(2, element, bits);
  Py_DECREF(bits);
  return *part ? 0 : -1;
}

/* One runtime argument: 0 read (its key part in *part), 1 decline, -1 error. */
static int read_argument(Call *c, PyObject *v, PyObject **part) {
  if (c->nraw >= MAX_RAW) return decline(c, "too many arguments");
  if (Py_IS_TYPE(v, &PyLong_Type)) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || x < INT32_MIN || x > INT32_MAX) return decline(c, "an int out of int32");
    c->raw[c->nraw++].i = x;
    *part = x % 16 == 0 ? Py_True : Py_False;
    Py_INCREF(*part);
    return 0;
  }
  if (Py_IS_TYPE(v, &PyFloat_Type)) {
    c->raw[c->nraw++].f = PyFloat_AsDouble(v);
    *part = hooks.float_key;
    Py_INCREF(*part);
    return 0;
  }
  PyObject *type = (PyObject *)Py_TYPE(v);
  PyObject *reader = PyDict_GetItemWithError(hooks.readers, type);
  if (!reader && !PyErr_Occurred()) { /* a type not seen yet: classify it once */
    PyObject *picked = PyObject_CallFunctionObjArgs(hooks.reader_for, type, NULL);
    if (!picked) return decline(c, "a type the runtime cannot read");
    Py_DECREF(picked); /* _READERS holds it */
    reader = picked;
  }
  if (!reader || reader != hooks.torch_reader) return decline(c, "an argument of another type");
  return read_torch(c, v, part);
}

/* The key of the call; NULL with c->why set to decline, NULL without it on an error. */
static PyObject *read_call(Call *c, const Kernel *k, const Bound_args *b) {
  Py_ssize_t nrt = k->nruntime, nce = k->nconst;
  PyObject *key = PyTuple_New(2 + nce + nrt + 1);
  if (!key) return NULL;
  for (Py_ssize_t i = 0; i < 2; i++) { /* num_warps, num_stages */
    Py_INCREF(b->options[i]);
    PyTuple_SetItem(key, i, b->options[i]);
  }
  for (Py_ssize_t j = 0; j < nce; j++) {
    PyObject *value = b->constexprs[j], *part;
    if (Py_IS_TYPE(value, &PyLong_Type)) { /* an int and its repr say the same */
      Py_INCREF(value);
      part = value;
    } else if (!(part = PyObject_Repr(value))) {
      Py_DECREF(key);
      return NULL;
    }
    PyTuple_SetItem(key, 2 + j, part);
  }
  for (Py_ssize_t j = 0; j < nrt; j++) {
    PyObject *part = NULL;
    if (read_argument(c, b->runtime[j], &part)) {
      Py_DECREF(key);
      return NULL;
    }
    PyTuple_SetItem(key, 2 + nce + j, part);
  }
  PyObject *device = c->device >= 0 ? PyLong_FromLong(c->device) : Py_None;
  if (device == Py_None) Py_INCREF(device);
  if (!device) {
    Py_DECREF(key);
    return NULL;
  }
  PyTuple_SetItem(key, 2 + nce + nrt, device);
  return key;
}

/* Copies each TMA descriptor from the cache: 0, or 1 when one is not cached yet. */
static int fill_descriptors(Call *c, const Plan *p, unsigned char *buffer) {
  for (Py_ssize_t i = 0; i < p->ntma; i++) {
    const TmaSlot *t = &p->tma[i];
    const ArrayRead *a = NULL;
    for (int j = 0; j < c->narrays; j++)
      if (c->arrays[j].base == t->base) a = &c->arrays[j];
    if (!a || !p->descriptors) return decline(c, "no array for a TMA descriptor");
    /* DescriptorCache's key: (pointer, tuple(shape), tuple(strides), box, swizzle, dtype) */
    PyObject *pointer = PyLong_FromUnsignedLongLong(c->raw[t->base].u);
    PyObject *shape = PySequence_Tuple(a->shape), *strides = PySequence_Tuple(a->strides);
    PyObject *key = pointer && shape && strides
                        ? PyTuple_Pack(6, pointer, shape, strides, t->box, t->swizzle, t->dtype)
                        : NULL;
    Py_XDECREF(pointer);
    Py_XDECREF(shape);
    Py_XDECREF(strides);
    if (!key) return -1;
    PyObject *blob = PyDict_GetItemWithError(p->descriptors, key);
    Py_DECREF(key);
    if (!blob || !PyBytes_Check(blob) || PyBytes_Size(blob) != TENSOR_MAP_BYTES)
      return decline(c, "a TMA descriptor not encoded yet");
    memcpy(buffer + t->offset, PyBytes_AsString(blob), TENSOR_MAP_BYTES);
  }
  return 0;
}

/* The launch stream: stream= if given, the current torch stream with tensors, else 0. */
static int resolve_stream(Call *c, PyObject *given, unsigned long long *stream) {
  PyObject *handle;
  if (given == Py_None && c->narrays == 0) {
    *stream = 0;
    return 0;
  }
  if (given == Py_None) {
    PyObject *accessor = PyObject_GetAttr(hooks.streams, s_torch_stream);
    if (!accessor) return -1;
    PyObject *device = PyLong_FromLong(c->device);
    handle = device ? PyObject_CallFunctionObjArgs(accessor, device, NULL) : NULL;
    Py_XDECREF(device);
    Py_DECREF(accessor);
  } else if (Py_IS_TYPE(given, &PyLong_Type)) {
    Py_INCREF(given);
    handle = given;
  } else {
    handle = PyObject_CallFunctionObjArgs(hooks.stream_handle, given, NULL);
  }
  if (!handle) return -1;
  *stream = PyLong_AsUnsignedLongLong(handle);
  Py_DECREF(handle);
  if (PyErr_Occurred()) return decline(c, "a stream handle that is not a pointer");
  return 0;
}

static int interpret_requested(void) {
  const char *value = getenv("TILE_INTERPRET"), *end;
  if (!value || !*value) return 0;
  for (const char *s = value; *s; s++)
    if ((unsigned char)*s >= 128) return 1; /* let Python's str.strip decide */
  while (isspace((unsigned char)*value)) value++;
  for (end = value + strlen(value); end > value && isspace((unsigned char)end[-1]); end--) {}
  size_t n = (size_t)(end - value);
  static const char *const yes[] = {"1", "true", "yes", "on"};
  for (int i = 0; i < 4; i++)
    if (n == strlen(yes[i]) && strncasecmp(value, yes[i], n) == 0) return 1;
  return 0;
}

/* -- Bound: kernel[grid] ---------------------------------------------------------------------- */
typedef struct {
  PyObject_HEAD
  PyObject *kernel, *fn, *grid;
  Kernel *k; /* the capsule's */
} Bound;

/* The grid's constexprs, for a callable grid. */
static PyObject *constexpr_tuple(const Kernel *k, const Bound_args *b) {
  PyObject *t = PyTuple_New(k->nconst);
  for (Py_ssize_t j = 0; t && j < k->nconst; j++) {
    Py_INCREF(b->constexprs[j]);
    PyTuple_SetItem(t, j, b->constexprs[j]);
  }
  return t;
}

/* The grid as 3 ints: 0; 1 for an empty grid; -1 on an error. */
static int resolve_grid(Bound *self, const Bound_args *b, unsigned grid[3]) {
  if (PyTuple_Check(self->grid) && tl_grid_from_tuple(self->grid, grid) == 0) return 0;
  /* a callable, a list, numpy ints, an empty grid, an error: grid3's way */
  PyObject *constexprs = constexpr_tuple(self->k, b);
  PyObject *resolved =
      constexprs ? PyObject_CallFunctionObjArgs(self->k->grid, self->fn, self->grid, constexprs,
                                                NULL)
                 : NULL;
  Py_XDECREF(constexprs);
  if (!resolved) return -1;
  int status = resolved == Py_None ? 1 : 0;
  if (!status && (!PyTuple_Check(resolved) || tl_grid_from_tuple(resolved, grid))) {
    PyErr_SetString(PyExc_SystemError, "tile: the grid helper returned no 3 ints");
    status = -1;
  }
  Py_DECREF(resolved);
  return status;
}

static PyObject *bound_call(PyObject *self_, PyObject *args, PyObject *kwargs) {
  Bound *self = (Bound *)self_;
  const Kernel *k = self->k;
  Call c;
  c.nraw = 0;
  c.narrays = 0;
  c.device = -1;
  c.why = NULL;
  Bound_args b;
  PyObject *key = NULL, *plan_obj = NULL, *result = NULL, *ckey = Py_None;
  unsigned char local[LOCAL_BUFFER] __attribute__((aligned(64))), *buffer = NULL;
  int status;
  if (!hooks.readers) {
    c.why = "the fast path is not configured";
    goto slow;
  }
  if (interpret_requested()) {
    c.why = "TILE_INTERPRET";
    goto slow;
  }
  if ((status = tl_bind(k, args, kwargs, &b))) {
    if (status < 0) return NULL;
    c.why = "arguments that do not bind simply"; /* the Python path binds, or words the error */
    goto slow;
  }
  if (!(key = read_call(&c, k, &b))) {
    if (c.why) goto slow;
    goto done;
  }
  if (!(plan_obj = PyDict_GetItemWithError(k->table, key))) {
    if (PyErr_Occurred()) goto done;
    c.why = "a new specialization";
    ckey = key;
    goto slow;
  }
  Py_INCREF(plan_obj);
  Plan *p = tl_plan_of(plan_obj);
  if (!p || !(buffer = tl_buffer(p, local, sizeof local))) goto done;
  status = tl_fill_from_c(p, c.raw, buffer) ? decline(&c, "a value out of range")
                                            : fill_descriptors(&c, p, buffer);
  if (status) {
    if (status < 0) goto done;
    ckey = key;
    goto slow;
  }
  unsigned grid[3];
  if ((status = resolve_grid(self, &b, grid))) {
    if (status > 0) { /* an empty grid launches nothing */
      Py_INCREF(Py_None);
      result = Py_None;
    }
    goto done;
  }
  unsigned long long stream;
  if ((status = resolve_stream(&c, b.options[2], &stream))) {
    if (status < 0) goto done;
    ckey = key;
    goto slow;
  }
  if (tl_ensure_driver() < 0 || tl_driver_launch(p, grid, stream, buffer) < 0) goto done;
  tl_stats.fast++;
  Py_INCREF(Py_None);
  result = Py_None;
  goto done;
slow:
  tl_stats.declined++;
  tl_stats.last_decline = c.why;
  result = PyObject_CallFunctionObjArgs(k->slow, self->fn, self->grid, args,
                                        kwargs ? kwargs : Py_None, ckey, NULL);
done:
  if (buffer && buffer != local) free(buffer);
  for (int j = 0; j < c.narrays; j++) {
    Py_DECREF(c.arrays[j].shape);
    Py_DECREF(c.arrays[j].strides);
  }
  Py_XDECREF(plan_obj);
  Py_XDECREF(key);
  return result;
}

static PyObject *bound_type;

PyObject *tl_new_bound(PyObject *kernel, PyObject *fn, PyObject *grid) {
  Kernel *k = PyCapsule_IsValid(kernel, KERNEL_CAPSULE)
                  ? PyCapsule_GetPointer(kernel, KERNEL_CAPSULE) : NULL;
  if (!k) {
    PyErr_SetString(PyExc_TypeError, "Bound: kernel is not a tile._launch.kernel(...)");
    return NULL;
  }
  allocfunc alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)bound_type, Py_tp_alloc);
  Bound *self = (Bound *)alloc((PyTypeObject *)bound_type, 0);
  if (!self) return NULL;
  Py_INCREF(kernel);
  Py_INCREF(fn);
  Py_INCREF(grid);
  self->kernel = kernel;
  self->fn = fn;
  self->grid = grid;
  self->k = k;
  return (PyObject *)self;
}

static PyObject *bound_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  (void)type;
  PyObject *kernel, *fn, *grid;
  if (kwargs && PyDict_Size(kwargs)) {
    PyErr_SetString(PyExc_TypeError, "Bound(kernel, fn, grid) takes no keywords");
    return NULL;
  }
  if (!PyArg_ParseTuple(args, "OOO:Bound", &kernel, &fn, &grid)) return NULL;
  return tl_new_bound(kernel, fn, grid);
}

static PyObject *bound_interpret(PyObject *self_, PyObject *args, PyObject *kwargs) {
  Bound *self = (Bound *)self_;
  PyObject *empty = kwargs ? NULL : PyDict_New();
  if (!kwargs && !empty) return NULL;
  PyObject *result = PyObject_CallFunctionObjArgs(self->k->interpret, self->fn, self->grid, args,
                                                  kwargs ? kwargs : empty, NULL);
  Py_XDECREF(empty);
  return result;
}

static PyMethodDef bound_methods[] = {
    {"interpret", (PyCFunction)(void (*)(void))bound_interpret, METH_VARARGS | METH_KEYWORDS,
     "Runs the kernel's tile IR on the CPU interpreter, on numpy arrays or CPU torch tensors "
     "(results written into them); see docs/interpreter.md."},
    {NULL, NULL, 0, NULL}};

static void bound_dealloc(PyObject *self_) {
  Bound *self = (Bound *)self_;
  PyTypeObject *type = Py_TYPE(self_);
  Py_XDECREF(self->kernel);
  Py_XDECREF(self->fn);
  Py_XDECREF(self->grid);
  freefunc free_ = (freefunc)PyType_GetSlot(type, Py_tp_free);
  free_(self_);
  Py_DECREF(type);
}

static PyMemberDef bound_members[] = {
    {"fn", T_OBJECT_EX, offsetof(Bound, fn), READONLY, "the kernel (a JITFunction)"},
    {"grid", T_OBJECT_EX, offsetof(Bound, grid), READONLY, "the grid, as given"},
    {NULL, 0, 0, 0, NULL}};

PyObject *tl_bound_type(void) {
  static PyType_Slot slots[] = {{Py_tp_new, (void *)bound_new},
                                {Py_tp_dealloc, (void *)bound_dealloc},
                                {Py_tp_call, (void *)bound_call},
                                {Py_tp_members, bound_members},
                                {Py_tp_methods, bound_methods},
                                {Py_tp_doc, "kernel[grid]: call it to launch"},
                                {0, NULL}};
  static PyType_Spec spec = {"tile._launch.Bound", sizeof(Bound), 0, Py_TPFLAGS_DEFAULT, slots};
  bound_type = PyType_FromSpec(&spec);
  Py_XINCREF(bound_type); /* one reference for the module, one kept here */
  return bound_type;
}
