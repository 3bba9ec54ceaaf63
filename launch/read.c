/* Reading one call's runtime arguments in C (ints, floats, torch tensors) into raw values,
 * its specialization key and a compact signature; the signature finds the plan in a small
 * per-kernel memo, the key (built only when the memo misses) in the kernel's dict. Anything
 * unusual declines: the Python path reads it and words any error.
 *
 * The key is `collect`'s (runtime/arguments.py), except that a constexpr that is an int is
 * itself rather than its repr: (num_warps, num_stages, *constexprs, *argument parts, device).
 * The signature holds the same facts as words: ints by value, torch dtypes and constexprs of
 * immutable types (configure's identity_types) by identity, with those objects held by the
 * memo entry so that an identity cannot be reused. Equal signatures mean equal keys. */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <string.h>

#include "launch.h"

static struct {
  PyObject *readers;       /* arguments._READERS: type -> reader */
  PyObject *reader_for;    /* arguments._reader_for: picks (and files) a new type's reader */
  PyObject *torch_reader;  /* the reader that marks torch tensor classes */
  PyObject *torch_dtypes;  /* torch dtype -> (MLIR element type name, stride modulus) */
  PyObject *float_key;     /* the key part of a float argument */
  PyObject *stream_handle; /* driver.stream_handle: an int handle from a stream object */
  PyObject *streams;       /* the launcher module: its `_torch_raw_stream(device)` */
  PyObject *identity;      /* immutable types: a constexpr of one is known by identity */
} hooks;
static PyObject *s_get_device, *s_dtype, *s_data_ptr, *s_shape, *s_stride, *s_torch_stream;

/* The last torch tensor class read, with its methods looked up once (a tensor has no
 * methods of its own), and the last dtype with its element type name: most launches pass
 * tensors of one class and dtype, and these spare a dict lookup or two per tensor. */
static struct {
  PyObject *type, *get_device, *data_ptr, *stride;
  PyObject *dtype, *element;
} last;

static void forget_last(void) {
  PyObject *held[] = {last.type, last.get_device, last.data_ptr, last.stride, last.dtype,
                      last.element};
  memset(&last, 0, sizeof last);
  for (int i = 0; i < 6; i++) Py_XDECREF(held[i]);
}

/* f(arg): through PyObject_Vectorcall where the running Python's stable ABI has it (3.12+;
 * looked up at configure), sparing the varargs walk of PyObject_CallFunctionObjArgs. */
typedef PyObject *(*VectorcallFn)(PyObject *, PyObject *const *, size_t, PyObject *);
static VectorcallFn vectorcall;

PyObject *tl_py_configure(PyObject *mod, PyObject *args, PyObject *kwargs) {
  (void)mod;
  static char *names[] = {"readers", "reader_for", "torch_reader", "torch_dtypes", "float_key",
                          "stream_handle", "streams", "identity_types", "cuda_error", NULL};
  PyObject *v[9];
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO!OOOO!O:configure", names, &PyDict_Type,
                                   &v[0], &v[1], &v[2], &PyDict_Type, &v[3], &v[4], &v[5], &v[6],
                                   &PyTuple_Type, &v[7], &v[8]))
    return NULL;
  if (!s_torch_stream) {
    s_get_device = PyUnicode_InternFromString("get_device");
    s_dtype = PyUnicode_InternFromString("dtype");
    s_data_ptr = PyUnicode_InternFromString("data_ptr");
    s_shape = PyUnicode_InternFromString("shape");
    s_stride = PyUnicode_InternFromString("stride");
    s_torch_stream = PyUnicode_InternFromString("_torch_raw_stream");
    if (!s_get_device || !s_dtype || !s_data_ptr || !s_shape || !s_stride || !s_torch_stream)
      return NULL;
  }
  PyObject **slots[] = {&hooks.readers, &hooks.reader_for, &hooks.torch_reader,
                        &hooks.torch_dtypes, &hooks.float_key, &hooks.stream_handle,
                        &hooks.streams, &hooks.identity, &tl_CudaError};
  for (int i = 0; i < 9; i++) {
    PyObject *old = *slots[i];
    Py_INCREF(v[i]);
    *slots[i] = v[i];
    Py_XDECREF(old);
  }
  forget_last(); /* classes and dtypes are read by the new hooks from here */
  if (Py_Version >= 0x030C0000) *(void **)&vectorcall = dlsym(RTLD_DEFAULT, "PyObject_Vectorcall");
  Py_RETURN_NONE;
}

int tl_configured(void) { return hooks.readers != NULL; }

int tl_decline(Call *c, const char *why) {
  if (PyErr_Occurred()) PyErr_Clear(); /* the Python path meets it again and says it its way */
  c->why = why;
  return 1;
}

static void remember_type(PyObject *type) {
  PyObject *methods[3] = {PyObject_GetAttr(type, s_get_device), PyObject_GetAttr(type, s_data_ptr),
                          PyObject_GetAttr(type, s_stride)};
  if (!methods[0] || !methods[1] || !methods[2]) {
    PyErr_Clear();
    for (int i = 0; i < 3; i++) Py_XDECREF(methods[i]);
    return;
  }
  PyObject *held[] = {last.type, last.get_device, last.data_ptr, last.stride};
  Py_INCREF(type);
  last.type = type;
  last.get_device = methods[0];
  last.data_ptr = methods[1];
  last.stride = methods[2];
  for (int i = 0; i < 4; i++) Py_XDECREF(held[i]);
}

static PyObject *call1(PyObject *f, PyObject *arg) {
  if (vectorcall) return vectorcall(f, &arg, 1, NULL);
  return PyObject_CallFunctionObjArgs(f, arg, NULL);
}

static PyObject *call_method(PyObject *obj, PyObject *name, PyObject *cached) {
  if ((PyObject *)Py_TYPE(obj) == last.type) return call1(cached, obj);
  return PyObject_CallMethodObjArgs(obj, name, NULL);
}

static PyObject *element_of(PyObject *dtype) {
  if (dtype == last.dtype) return last.element;
  PyObject *element = PyDict_GetItemWithError(hooks.torch_dtypes, dtype);
  if (element) {
    PyObject *held[] = {last.dtype, last.element};
    Py_INCREF(dtype);
    Py_INCREF(element);
    last.dtype = dtype;
    last.element = element;
    for (int i = 0; i < 2; i++) Py_XDECREF(held[i]);
  }
  return element;
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

/* Reads the sizes or strides in tuple `t` into raw values and the key mask: a bit each
 * (a multiple of 16), and for strides (`modulus` > 0) a second (a multiple of modulus). */
static int read_extents(Call *c, PyObject *t, Py_ssize_t rank, long long modulus,
                        unsigned long long *mask, long long *last) {
  for (Py_ssize_t d = 0; d < rank; d++) {
    long long v;
    if (as_i64(PyTuple_GetItem(t, d), &v, 0) < 0)
      return tl_decline(c, "a size or stride that is no int64");
    c->raw[c->nraw++].i = v;
    *mask = *mask << 1 | (v % 16 == 0);
    if (modulus) *mask = *mask << 1 | (v % modulus == 0);
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
 * in *part: 0; or 1 to decline. */
static int read_torch(Call *c, PyObject *v, Part *part) {
  PyObject *o = call_method(v, s_get_device, last.get_device);
  if (!o) return tl_decline(c, "get_device() failed");
  long device = PyLong_AsLong(o);
  Py_DECREF(o);
  if (device < 0) return tl_decline(c, "a tensor not on a CUDA device");
  if (c->device >= 0 && device != c->device) return tl_decline(c, "tensors on different devices");
  PyObject *dtype = PyObject_GetAttr(v, s_dtype);
  if (!dtype) return tl_decline(c, "no dtype");
  PyObject *entry = element_of(dtype); /* held by the table and by `last` */
  if (!entry && !PyErr_Occurred()) {    /* the tables may be new: let Python refill them */
    PyObject *reader = PyObject_CallFunctionObjArgs(hooks.reader_for, (PyObject *)Py_TYPE(v), NULL);
    Py_XDECREF(reader);
    PyErr_Clear();
    entry = element_of(dtype);
  }
  Py_DECREF(dtype); /* the tensor holds its dtype */
  if (!entry) return tl_decline(c, "an unsupported tensor dtype");
  if (!PyTuple_Check(entry) || PyTuple_Size(entry) != 2)
    return tl_decline(c, "a dtype table entry that is no (name, modulus) pair");
  PyObject *element = PyTuple_GetItem(entry, 0);
  long long modulus = PyLong_AsLongLong(PyTuple_GetItem(entry, 1));
  if (modulus < 1) return tl_decline(c, "a stride modulus below 1");
  if (!(o = call_method(v, s_data_ptr, last.data_ptr))) return tl_decline(c, "data_ptr() failed");
  long long pointer;
  int bad = as_i64(o, &pointer, 1);
  Py_DECREF(o);
  if (bad) return tl_decline(c, "data_ptr() is not a pointer");
  PyObject *shape = as_tuple(PyObject_GetAttr(v, s_shape));
  PyObject *strides = shape ? as_tuple(call_method(v, s_stride, last.stride)) : NULL;
  if (!shape || !strides) {
    Py_XDECREF(shape);
    return tl_decline(c, "shape or stride() failed");
  }
  Py_ssize_t rank = PyTuple_Size(shape);
  if (c->narrays == MAX_ARRAYS || rank < 1 || rank > MAX_RANK ||
      PyTuple_Size(strides) != rank || c->nraw + 1 + 2 * rank > MAX_RAW) {
    Py_DECREF(shape);
    Py_DECREF(strides);
    return tl_decline(c, "an array of unusual rank or too many arguments");
  }
  ArrayRead *a = &c->arrays[c->narrays++]; /* owns shape and strides from here */
  a->shape = shape;
  a->strides = strides;
  a->base = (unsigned)c->nraw;
  c->raw[c->nraw++].i = pointer;
  unsigned long long mask = 2 | ((unsigned long long)pointer % 16 == 0);
  long long last = 0;
  if (read_extents(c, shape, rank, 0, &mask, &last) ||
      read_extents(c, strides, rank, modulus, &mask, &last))
    return 1;
  c->device = device;
  part->kind = PART_ARRAY;
  part->element = element; /* held by the dtype table */
  part->dtype = dtype;     /* held by the tensor, and by the memo entry once stored */
  part->mask = mask << 1 | (last == 1);
  return 0;
}

static int read_torch_part(Call *c, Py_ssize_t j, PyObject *v) {
  int status = read_torch(c, v, &c->parts[j]);
  if (status == 0) {
    c->sig[c->nsig++] = PART_ARRAY;
    c->sig[c->nsig++] = (unsigned long long)(uintptr_t)c->parts[j].dtype;
    c->sig[c->nsig++] = c->parts[j].mask;
    c->pins[c->npins++] = c->parts[j].dtype;
  }
  return status;
}

/* One runtime argument: 0 read, 1 decline, -1 error. */
static int read_argument(Call *c, Py_ssize_t j, PyObject *v) {
  if (c->nraw >= MAX_RAW) return tl_decline(c, "too many arguments");
  if (Py_IS_TYPE(v, &PyLong_Type)) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || x < INT32_MIN || x > INT32_MAX) return tl_decline(c, "an int out of int32");
    c->raw[c->nraw++].i = x;
    c->parts[j].kind = x % 16 == 0 ? PART_INT16 : PART_INT;
    c->sig[c->nsig++] = (unsigned long long)c->parts[j].kind;
    return 0;
  }
  if (Py_IS_TYPE(v, &PyFloat_Type)) {
    c->raw[c->nraw++].f = PyFloat_AsDouble(v);
    c->parts[j].kind = PART_FLOAT;
    c->sig[c->nsig++] = PART_FLOAT;
    return 0;
  }
  PyObject *type = (PyObject *)Py_TYPE(v);
  if (type == last.type) return read_torch_part(c, j, v);
  PyObject *reader = PyDict_GetItemWithError(hooks.readers, type);
  if (!reader && !PyErr_Occurred()) { /* a type not seen yet: classify it once */
    PyObject *picked = PyObject_CallFunctionObjArgs(hooks.reader_for, type, NULL);
    if (!picked) return tl_decline(c, "a type the runtime cannot read");
    Py_DECREF(picked); /* _READERS holds it */
    reader = picked;
  }
  if (!reader || reader != hooks.torch_reader) return tl_decline(c, "an argument of another type");
  remember_type(type);
  return read_torch_part(c, j, v);
}

/* A constexpr or launch option in the signature: ints by value, None, objects of immutable
 * types by identity (held by the memo entry); anything else makes the call unmemoizable. */
static void sign_value(Call *c, PyObject *v) {
  if (v == Py_None) {
    c->sig[c->nsig++] = 1;
    c->sig[c->nsig++] = 0;
    return;
  }
  if (Py_IS_TYPE(v, &PyLong_Type)) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      c->memo = 0;
      return;
    }
    c->sig[c->nsig++] = 2;
    c->sig[c->nsig++] = (unsigned long long)x;
    return;
  }
  for (Py_ssize_t i = 0, n = PyTuple_Size(hooks.identity); i < n; i++)
    if ((PyObject *)Py_TYPE(v) == PyTuple_GetItem(hooks.identity, i)) {
      c->sig[c->nsig++] = 3;
      c->sig[c->nsig++] = (unsigned long long)(uintptr_t)v;
      c->pins[c->npins++] = v;
      return;
    }
  c->memo = 0;
}

/* The call's key tuple (what the kernel's dict is keyed by). */
static PyObject *make_key(const Call *c, const Kernel *k, const Bound_args *b) {
  Py_ssize_t nrt = k->nruntime, nce = k->nconst;
  PyObject *key = PyTuple_New(2 + nce + nrt + 1), *part = NULL;
  if (!key) return NULL;
  for (Py_ssize_t i = 0; i < 2; i++) { /* num_warps, num_stages */
    Py_INCREF(b->options[i]);
    PyTuple_SetItem(key, i, b->options[i]);
  }
  for (Py_ssize_t j = 0; j < nce; j++) {
    PyObject *value = b->constexprs[j];
    if (Py_IS_TYPE(value, &PyLong_Type)) { /* an int and its repr say the same */
      Py_INCREF(value);
      part = value;
    } else if (!(part = PyObject_Repr(value)))
      goto fail;
    PyTuple_SetItem(key, 2 + j, part);
  }
  for (Py_ssize_t j = 0; j < nrt; j++) {
    const Part *p = &c->parts[j];
    if (p->kind == PART_ARRAY) {
      PyObject *bits = PyLong_FromUnsignedLongLong(p->mask);
      part = bits ? PyTuple_Pack(2, p->element, bits) : NULL;
      Py_XDECREF(bits);
      if (!part) goto fail;
    } else {
      part = p->kind == PART_FLOAT ? hooks.float_key : p->kind == PART_INT16 ? Py_True : Py_False;
      Py_INCREF(part);
    }
    PyTuple_SetItem(key, 2 + nce + j, part);
  }
  part = c->device >= 0 ? PyLong_FromLong(c->device) : Py_None;
  if (!part) goto fail;
  if (part == Py_None) Py_INCREF(part);
  PyTuple_SetItem(key, 2 + nce + nrt, part);
  return key;
fail:
  Py_DECREF(key);
  return NULL;
}

static void memo_store(Kernel *k, const Call *c, PyObject *plan) {
  PyObject *pins = PyTuple_New(c->npins);
  if (!pins) {
    PyErr_Clear(); /* no memo entry, no harm */
    return;
  }
  for (int i = 0; i < c->npins; i++) {
    Py_INCREF(c->pins[i]);
    PyTuple_SetItem(pins, i, c->pins[i]);
  }
  MemoEntry *e = &k->memo[k->memo_next];
  k->memo_next = (k->memo_next + 1) % MEMO_ENTRIES;
  PyObject *old_plan = e->plan, *old_pins = e->pins;
  Py_INCREF(plan);
  e->plan = plan;
  e->pins = pins;
  e->n = c->nsig;
  memcpy(e->sig, c->sig, sizeof(unsigned long long) * c->nsig);
  Py_XDECREF(old_plan);
  Py_XDECREF(old_pins);
}

void tl_memo_clear(Kernel *k) {
  for (int i = 0; i < MEMO_ENTRIES; i++) {
    MemoEntry *e = &k->memo[i];
    PyObject *plan = e->plan, *pins = e->pins;
    e->plan = e->pins = NULL;
    e->n = 0;
    Py_XDECREF(plan);
    Py_XDECREF(pins);
  }
}

int tl_read_call(Call *c, Kernel *k, const Bound_args *b, PyObject **plan, PyObject **key) {
  *plan = *key = NULL;
  c->memo = 1;
  /* num_warps=4.0 hashes as 4 would: only ints (or None) key a plan; the
   * Python path says what is wrong with anything else. */
  for (int i = 0; i < 2; i++)
    if (b->options[i] != Py_None && !Py_IS_TYPE(b->options[i], &PyLong_Type))
      return tl_decline(c, "a launch option that is not an int");
  sign_value(c, b->options[0]);
  sign_value(c, b->options[1]);
  for (Py_ssize_t j = 0; j < k->nconst; j++) sign_value(c, b->constexprs[j]);
  for (Py_ssize_t j = 0; j < k->nruntime; j++)
    if (read_argument(c, j, b->runtime[j])) return c->why ? 1 : -1;
  c->sig[c->nsig++] = (unsigned long long)(c->device + 1);
  if (c->memo)
    for (int i = 0; i < MEMO_ENTRIES; i++) {
      const MemoEntry *e = &k->memo[i];
      if (e->plan && e->n == c->nsig && !memcmp(e->sig, c->sig, sizeof(c->sig[0]) * c->nsig)) {
        Py_INCREF(e->plan);
        *plan = e->plan;
        tl_stats.memo_hits++;
        return 0;
      }
    }
  if (!(*key = make_key(c, k, b))) return -1;
  PyObject *found = PyDict_GetItemWithError(k->table, *key);
  if (!found) {
    if (PyErr_Occurred()) return -1;
    c->why = "a new specialization";
    return 1;
  }
  if (c->memo) memo_store(k, c, found);
  Py_INCREF(found);
  *plan = found;
  return 0;
}

/* The launch stream: stream= if given, the current torch stream with tensors, else 0. */
int tl_resolve_stream(Call *c, PyObject *given, unsigned long long *stream) {
  PyObject *handle;
  if (given == Py_None && c->narrays == 0) {
    *stream = 0;
    return 0;
  }
  if (given == Py_None) {
    PyObject *accessor = PyObject_GetAttr(hooks.streams, s_torch_stream);
    if (!accessor) return -1;
    PyObject *device = PyLong_FromLong(c->device);
    handle = device ? call1(accessor, device) : NULL;
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
  if (PyErr_Occurred()) return tl_decline(c, "a stream handle that is not a pointer");
  return 0;
}

