/* Reading one call's runtime arguments in C (ints, floats, torch tensors) into raw values,
 * its specialization key and a compact signature; the signature finds the plan in a small
 * per-kernel memo, the key (built only when the memo misses) in the kernel's dict. Anything
 * unusual declines: the Python path reads it and words any error.
 *
 * The raw values and key parts are runtime/abi.py's, by the rules configure() was given
 * (divisors, ranges, key parts); read_arguments() returns them for the tests that hold the
 * two readers to one another. The key is (num_warps, num_stages, *constexprs, *argument
 * parts, device), a constexpr that is an int being itself rather than its repr. The
 * signature holds the same facts as words: ints by value, torch dtypes and constexprs of
 * immutable types (identity_types) by identity, with those objects held by the memo entry
 * so that an identity cannot be reused. Equal signatures mean equal keys. */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"

struct Rules tl_rules;

static struct {
  PyObject *readers;       /* arguments._READERS: type -> reader */
  PyObject *reader_for;    /* arguments._reader_for: picks (and files) a new type's reader */
  PyObject *torch_reader;  /* the reader that marks torch tensor classes */
  PyObject *torch_dtypes;  /* torch dtype -> (MLIR element type name, array divisors) */
  PyObject *stream_handle; /* driver.stream_handle: an int handle from a stream object */
  PyObject *streams;       /* the module whose attribute torch_stream is torch's accessor */
  PyObject *torch_stream;  /* that attribute's name */
  PyObject *identity;      /* immutable types: a constexpr of one is known by identity */
} hooks;
static PyObject *s_get_device, *s_dtype, *s_data_ptr, *s_shape, *s_stride;

/* A torch dtype's key rule, parsed from its torch_dtypes entry: what array_key tests. */
typedef struct {
  PyObject *dtype, *element; /* held */
  unsigned long long pointer, size, stride, stride_bytes; /* each divisor - 1 */
} DtypeRule;

/* The last torch tensor class read, with its methods looked up once (a tensor has no
 * methods of its own), and the dtypes seen last with their rules: most launches pass
 * tensors of one class and few dtypes, and these spare dict lookups per tensor. */
#define DTYPE_RULES 8
static struct {
  PyObject *type, *get_device, *data_ptr, *stride;
  DtypeRule rules[DTYPE_RULES];
  int next_rule;
} last;

static void forget_last(void) {
  PyObject *held[4 + 2 * DTYPE_RULES] = {last.type, last.get_device, last.data_ptr, last.stride};
  for (int i = 0; i < DTYPE_RULES; i++) {
    held[4 + 2 * i] = last.rules[i].dtype;
    held[5 + 2 * i] = last.rules[i].element;
  }
  memset(&last, 0, sizeof last);
  for (int i = 0; i < 4 + 2 * DTYPE_RULES; i++) Py_XDECREF(held[i]);
}

/* f(arg): through PyObject_Vectorcall where the running Python's stable ABI has it (3.12+;
 * looked up at configure), sparing the varargs walk of PyObject_CallFunctionObjArgs. */
typedef PyObject *(*VectorcallFn)(PyObject *, PyObject *const *, size_t, PyObject *);
static VectorcallFn vectorcall;

/* table[name] as a new reference; a KeyError naming it when absent. */
static PyObject *entry(PyObject *table, const char *name) {
  PyObject *v = PyDict_GetItemString(table, name);
  if (!v) PyErr_Format(PyExc_KeyError, "configure: the table has no '%s'", name);
  Py_XINCREF(v);
  return v;
}

/* A power of two's low bits (divisor - 1); -1 with an error for anything else. */
static int low_bits(PyObject *divisor, unsigned long long *out) {
  long long d = PyLong_AsLongLong(divisor);
  if (d == -1 && PyErr_Occurred()) return -1;
  if (d < 1 || (d & (d - 1))) {
    PyErr_Format(PyExc_ValueError, "configure: divisor %lld is no power of two", d);
    return -1;
  }
  *out = (unsigned long long)d - 1;
  return 0;
}

static int as_ll(PyObject *seq, Py_ssize_t i, long long *out) {
  PyObject *item = PySequence_GetItem(seq, i);
  if (!item) return -1;
  *out = PyLong_AsLongLong(item);
  Py_DECREF(item);
  return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* configure(table): runtime/abi.py `native_table()` (its docstring names every entry). */
PyObject *tl_py_configure(PyObject *mod, PyObject *table) {
  (void)mod;
  if (!PyDict_Check(table)) {
    PyErr_SetString(PyExc_TypeError, "configure: the table is a dict (abi.native_table())");
    return NULL;
  }
  if (!s_stride) {
    s_get_device = PyUnicode_InternFromString("get_device");
    s_dtype = PyUnicode_InternFromString("dtype");
    s_data_ptr = PyUnicode_InternFromString("data_ptr");
    s_shape = PyUnicode_InternFromString("shape");
    s_stride = PyUnicode_InternFromString("stride");
    if (!s_get_device || !s_dtype || !s_data_ptr || !s_shape || !s_stride) return NULL;
  }
  struct Rules rules = {0};
  /* The objects kept, by their entry's name; then the entries read into `rules`. */
  static const char *const names[] = {"readers", "reader_for", "torch_reader", "torch_dtypes",
                                      "stream_handle", "streams", "torch_stream",
                                      "identity_types", "cuda_error", "float_key",
                                      "interpret_requested", "int_range", "int_keys",
                                      "int_divisor", "grid_limits"};
  PyObject **kept[] = {&hooks.readers, &hooks.reader_for, &hooks.torch_reader,
                       &hooks.torch_dtypes, &hooks.stream_handle, &hooks.streams,
                       &hooks.torch_stream, &hooks.identity, &tl_CudaError, &tl_rules.float_key,
                       &tl_rules.interpret_requested};
  enum { N = sizeof names / sizeof names[0], KEPT = sizeof kept / sizeof kept[0] };
  PyObject *v[N] = {NULL};
  int ok = 1;
  for (int i = 0; i < N && ok; i++) ok = (v[i] = entry(table, names[i])) != NULL;
  ok = ok && PyDict_Check(v[0]) && PyDict_Check(v[3]) && PyUnicode_Check(v[6]) &&
       PyTuple_Check(v[7]) && PySequence_Size(v[11]) == 2 && PySequence_Size(v[12]) == 2 &&
       PySequence_Size(v[14]) == 3;
  if (!ok && !PyErr_Occurred())
    PyErr_SetString(PyExc_TypeError, "configure: a table entry of the wrong type");
  ok = ok && as_ll(v[11], 0, &rules.int_min) == 0 && as_ll(v[11], 1, &rules.int_max) == 0 &&
       low_bits(v[13], &rules.int_low_bits) == 0;
  for (int i = 0; i < 3 && ok; i++) ok = as_ll(v[14], i, &rules.grid_limits[i]) == 0;
  for (int i = 0; i < 2 && ok; i++) ok = (rules.int_keys[i] = PySequence_GetItem(v[12], i)) != NULL;
  if (ok) { /* from here nothing fails: swap the new in, the old out */
    PyObject *old_keys[2] = {tl_rules.int_keys[0], tl_rules.int_keys[1]};
    rules.float_key = tl_rules.float_key;
    rules.interpret_requested = tl_rules.interpret_requested;
    tl_rules = rules;
    for (int i = 0; i < KEPT; i++) {
      PyObject *old = *kept[i];
      *kept[i] = v[i];
      v[i] = old;
    }
    rules.int_keys[0] = old_keys[0];
    rules.int_keys[1] = old_keys[1];
    forget_last(); /* classes and dtypes are read by the new rules from here */
  }
  for (int i = 0; i < N; i++) Py_XDECREF(v[i]); /* the old objects, or on failure the new */
  for (int i = 0; i < 2; i++) Py_XDECREF(rules.int_keys[i]);
  if (!ok) return NULL;
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

/* The rule of a torch dtype entry (element, (pointer, size, stride, stride bytes) divisors),
 * filed among the last seen; NULL with an error when the entry is malformed. */
static const DtypeRule *parse_rule(PyObject *dtype, PyObject *entry) {
  PyObject *divisors = PyTuple_Check(entry) && PyTuple_Size(entry) == 2
                           ? PyTuple_GetItem(entry, 1) : NULL;
  if (!divisors || !PyTuple_Check(divisors) || PyTuple_Size(divisors) != 4 ||
      !PyUnicode_Check(PyTuple_GetItem(entry, 0))) {
    PyErr_SetString(PyExc_ValueError, "a torch_dtypes entry is no (name, 4 divisors)");
    return NULL;
  }
  DtypeRule rule;
  unsigned long long *bits[] = {&rule.pointer, &rule.size, &rule.stride, &rule.stride_bytes};
  for (int i = 0; i < 4; i++)
    if (low_bits(PyTuple_GetItem(divisors, i), bits[i]) < 0) return NULL;
  DtypeRule *slot = &last.rules[last.next_rule];
  last.next_rule = (last.next_rule + 1) % DTYPE_RULES;
  PyObject *held[] = {slot->dtype, slot->element};
  rule.dtype = dtype;
  rule.element = PyTuple_GetItem(entry, 0);
  Py_INCREF(rule.dtype);
  Py_INCREF(rule.element);
  *slot = rule;
  Py_XDECREF(held[0]);
  Py_XDECREF(held[1]);
  return slot;
}

/* The key rule of a torch dtype: NULL when the dtype is not supported (or on an error). */
static const DtypeRule *rule_of(PyObject *dtype) {
  for (int i = 0; i < DTYPE_RULES; i++)
    if (last.rules[i].dtype == dtype) return &last.rules[i];
  PyObject *entry = PyDict_GetItemWithError(hooks.torch_dtypes, dtype);
  return entry ? parse_rule(dtype, entry) : NULL;
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

/* Reads the sizes or strides in tuple `t` into raw values and the key mask: a bit per
 * divisor (given as its low bits; `second` 0 for sizes, which have one). */
static int read_extents(Call *c, PyObject *t, Py_ssize_t rank, unsigned long long first,
                        unsigned long long second, int two, unsigned long long *mask,
                        long long *last) {
  for (Py_ssize_t d = 0; d < rank; d++) {
    long long v;
    if (as_i64(PyTuple_GetItem(t, d), &v, 0) < 0)
      return tl_decline(c, "a size or stride that is no int64");
    c->raw[c->nraw++].i = v;
    *mask = *mask << 1 | ((v & first) == 0);
    if (two) *mask = *mask << 1 | ((v & second) == 0);
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

/* A torch tensor: its key part (dtype name, divisibility mask: signature.array_key by the
 * dtype's divisors) in *part: 0; or 1 to decline. */
static int read_torch(Call *c, PyObject *v, Part *part) {
  PyObject *o = call_method(v, s_get_device, last.get_device);
  if (!o) return tl_decline(c, "get_device() failed");
  long device = PyLong_AsLong(o);
  Py_DECREF(o);
  if (device < 0) return tl_decline(c, "a tensor not on a CUDA device");
  if (c->device >= 0 && device != c->device) return tl_decline(c, "tensors on different devices");
  PyObject *dtype = PyObject_GetAttr(v, s_dtype);
  if (!dtype) return tl_decline(c, "no dtype");
  const DtypeRule *rule = rule_of(dtype); /* holds the dtype and its element name */
  if (!rule && !PyErr_Occurred()) {       /* the tables may be new: let Python refill them */
    PyObject *reader = PyObject_CallFunctionObjArgs(hooks.reader_for, (PyObject *)Py_TYPE(v), NULL);
    Py_XDECREF(reader);
    PyErr_Clear();
    rule = rule_of(dtype);
  }
  Py_DECREF(dtype); /* the tensor holds its dtype */
  if (!rule) return tl_decline(c, "an unsupported tensor dtype");
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
  c->raw[c->nraw++].i = pointer;
  unsigned long long mask = 2 | (((unsigned long long)pointer & rule->pointer) == 0);
  long long last = 0;
  int declined = read_extents(c, shape, rank, rule->size, 0, 0, &mask, &last) ||
                 read_extents(c, strides, rank, rule->stride, rule->stride_bytes, 1, &mask, &last);
  Py_DECREF(shape);
  Py_DECREF(strides);
  if (declined) return 1;
  c->narrays++;
  c->device = device;
  part->kind = PART_ARRAY;
  part->element = rule->element; /* held by the dtype table */
  part->dtype = rule->dtype;     /* held by the tensor, and by the memo entry once stored */
  part->mask = mask << 1 | (last == 1);
  part->rank = (int)rank;
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
    if (overflow || x < tl_rules.int_min || x > tl_rules.int_max)
      return tl_decline(c, "an int out of its range");
    c->raw[c->nraw++].i = x;
    c->parts[j].kind = ((unsigned long long)x & tl_rules.int_low_bits) == 0 ? PART_INT_DIVISIBLE
                                                                             : PART_INT;
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

/* The key part of runtime argument j (a new reference): runtime/abi.py's. */
static PyObject *part_object(const Part *p) {
  if (p->kind == PART_ARRAY) {
    PyObject *bits = PyLong_FromUnsignedLongLong(p->mask);
    PyObject *part = bits ? PyTuple_Pack(2, p->element, bits) : NULL;
    Py_XDECREF(bits);
    return part;
  }
  PyObject *part = p->kind == PART_FLOAT ? tl_rules.float_key
                                         : tl_rules.int_keys[p->kind == PART_INT_DIVISIBLE];
  Py_INCREF(part);
  return part;
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
    if (!(part = part_object(&c->parts[j]))) goto fail;
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
    PyObject *accessor = PyObject_GetAttr(hooks.streams, hooks.torch_stream);
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


/* The raw values of a read call as Python numbers: a list. */
static PyObject *raw_list(const Call *c, Py_ssize_t nargs) {
  PyObject *raw = PyList_New(c->nraw);
  Py_ssize_t at = 0;
  for (Py_ssize_t j = 0; raw && j < nargs; j++) {
    /* an array's raw values: (pointer: unsigned, sizes, strides) */
    Py_ssize_t count = c->parts[j].kind == PART_ARRAY ? 1 + 2 * c->parts[j].rank : 1;
    for (Py_ssize_t i = at; i < at + count; i++) {
      PyObject *v = c->parts[j].kind == PART_FLOAT ? PyFloat_FromDouble(c->raw[i].f)
                    : c->parts[j].kind == PART_ARRAY && i == at
                        ? PyLong_FromUnsignedLongLong(c->raw[i].u)
                        : PyLong_FromLongLong(c->raw[i].i);
      if (!v) {
        Py_CLEAR(raw);
        break;
      }
      PyList_SetItem(raw, i, v);
    }
    at += count;
  }
  return raw;
}

/* read_arguments(values) -> (parts, raw, device) as the fast path reads them (device None
 * without arrays), or (None, why) when it declines them to the Python path. */
PyObject *tl_py_read_arguments(PyObject *mod, PyObject *values) {
  (void)mod;
  if (!tl_configured()) {
    PyErr_SetString(PyExc_RuntimeError, "read_arguments: not configured");
    return NULL;
  }
  PyObject *items = PySequence_Tuple(values), *result = NULL;
  if (!items) return NULL;
  Py_ssize_t n = PyTuple_Size(items);
  Call *c = calloc(1, sizeof(Call)); /* too large for every caller's stack */
  if (!c) {
    Py_DECREF(items);
    return PyErr_NoMemory();
  }
  c->device = -1;
  int status = n > MAX_PARAMS ? tl_decline(c, "too many arguments") : 0;
  for (Py_ssize_t j = 0; j < n && !status; j++)
    status = read_argument(c, j, PyTuple_GetItem(items, j));
  if (status > 0) {
    result = Py_BuildValue("(Os)", Py_None, c->why);
  } else if (status == 0) {
    PyObject *parts = PyTuple_New(n), *raw = parts ? raw_list(c, n) : NULL;
    int ok = raw != NULL;
    for (Py_ssize_t j = 0; ok && j < n; j++) {
      PyObject *part = part_object(&c->parts[j]);
      ok = part != NULL;
      if (ok) PyTuple_SetItem(parts, j, part);
    }
    PyObject *device = c->device >= 0 ? PyLong_FromLong(c->device) : Py_None;
    if (device == Py_None) Py_INCREF(device);
    if (ok && device) result = PyTuple_Pack(3, parts, raw, device);
    Py_XDECREF(device);
    Py_XDECREF(parts);
    Py_XDECREF(raw);
  }
  free(c);
  Py_DECREF(items);
  return result;
}
