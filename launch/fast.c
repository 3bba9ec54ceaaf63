/* The fast path of `kernel[grid](...)`: `Bound`, called with the launch's arguments.
 *
 * It binds them by the kernel's signature (bind.c; anything unusual is left to Python's
 * own binding), reads them and finds the plan (read.c), copies the TMA descriptors from
 * their cache, resolves the grid and stream, and launches (launch.c). Every case it does
 * not handle goes to the kernel's `slow` function, with the key when it got that far, so
 * that the Python path launches (and raises every argument error) and files the plan
 * under the key for the next call.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdlib.h>
#include <string.h>

#include "launch.h"

struct Stats tl_stats;

/* Copies each TMA descriptor from the cache, found by the array's raw values (abi.py):
 * 0, or 1 when one is not cached yet. */
static int fill_descriptors(Call *c, const Plan *p, unsigned char *buffer) {
  for (Py_ssize_t i = 0; i < p->ntma; i++) {
    const TmaSlot *t = &p->tma[i];
    if ((Py_ssize_t)t->base + t->count > c->nraw) return tl_decline(c, "no array for a TMA slot");
    PyObject *key = PyTuple_New(t->count);
    for (unsigned j = 0; key && j < t->count; j++) {
      const Raw *r = &c->raw[t->base + j]; /* the pointer first: unsigned */
      PyObject *v = j == 0 ? PyLong_FromUnsignedLongLong(r->u) : PyLong_FromLongLong(r->i);
      if (!v) Py_CLEAR(key);
      else PyTuple_SetItem(key, j, v);
    }
    if (!key) return -1;
    PyObject *blob = PyDict_GetItemWithError(t->table, key);
    Py_DECREF(key);
    if (!blob || !PyBytes_Check(blob) || PyBytes_Size(blob) != t->size)
      return tl_decline(c, "a TMA descriptor not encoded yet");
    memcpy(buffer + t->offset, PyBytes_AsString(blob), t->size);
  }
  return 0;
}

/* Whether TILE_INTERPRET asks for the interpreter: interpreter.requested() decides, asked
 * again only when the variable's text changes (a getenv and a compare per launch). */
static int interpret_requested(void) {
  static char *seen;  /* the text last decided on (NULL: unset) */
  static int decided, answer;
  const char *value = getenv("TILE_INTERPRET");
  if (decided && (value ? seen && strcmp(seen, value) == 0 : !seen)) return answer;
  PyObject *result = PyObject_CallNoArgs(tl_rules.interpret_requested);
  int truth = result ? PyObject_IsTrue(result) : -1;
  Py_XDECREF(result);
  if (truth < 0) { /* the Python path asks again, and raises */
    PyErr_Clear();
    return 1;
  }
  char *copy = value ? strdup(value) : NULL;
  if (value && !copy) return 1;
  free(seen);
  seen = copy;
  decided = 1;
  answer = truth;
  return answer;
}

/* -- Bound: kernel[grid] ---------------------------------------------------------------------- */
/* Vectorcall (no args tuple, no kwargs dict per call) is in the stable ABI from Python 3.12:
 * these are its 3.12 definitions, used only when running on 3.12 or later. */
typedef PyObject *(*Vectorcall)(PyObject *, PyObject *const *, size_t, PyObject *);
#define HAVE_VECTORCALL_FLAG (1UL << 11)
#define VECTORCALL_ARGUMENTS_OFFSET ((size_t)1 << (8 * sizeof(size_t) - 1))

typedef struct {
  PyObject_HEAD
  Vectorcall vectorcall;
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

/* The Python path's (args, kwargs) of a vectorcall. */
static int as_tuple_and_dict(const Call_args *a, PyObject **args, PyObject **kwargs) {
  *kwargs = NULL;
  if (!(*args = PyTuple_New(a->nargs))) return -1;
  for (Py_ssize_t i = 0; i < a->nargs; i++) {
    Py_INCREF(a->args[i]);
    PyTuple_SetItem(*args, i, a->args[i]);
  }
  if (!a->kwnames) return 0;
  if (!(*kwargs = PyDict_New())) return -1;
  for (Py_ssize_t j = 0, n = PyTuple_Size(a->kwnames); j < n; j++)
    if (PyDict_SetItem(*kwargs, PyTuple_GetItem(a->kwnames, j), a->args[a->nargs + j]) < 0)
      return -1;
  return 0;
}

/* The Python path, with the C key when the call got that far. */
static PyObject *slow(Bound *self, const Call_args *a, PyObject *args, PyObject *ckey) {
  PyObject *kwargs = a->kwargs, *made_args = NULL, *made_kwargs = NULL, *result = NULL;
  if (!args) {
    if (as_tuple_and_dict(a, &made_args, &made_kwargs) < 0) goto done;
    args = made_args;
    kwargs = made_kwargs;
  }
  result = PyObject_CallFunctionObjArgs(self->k->slow, self->fn, self->grid, args,
                                        kwargs ? kwargs : Py_None, ckey, NULL);
done:
  Py_XDECREF(made_args);
  Py_XDECREF(made_kwargs);
  return result;
}

/* One launch: `args` is the call's tuple when it came as one (tp_call), else NULL. */
static PyObject *launch_call(Bound *self, const Call_args *a, PyObject *args) {
  Kernel *k = self->k;
  Call c;
  c.nraw = c.nsig = 0;
  c.narrays = c.npins = 0;
  c.device = -1;
  c.why = NULL;
  Bound_args b;
  PyObject *key = NULL, *plan_obj = NULL, *result = NULL, *ckey = Py_None;
  unsigned char local[LOCAL_BUFFER] __attribute__((aligned(64))), *buffer = NULL;
  int status;
  if (!tl_configured()) {
    c.why = "the fast path is not configured";
    goto slow;
  }
  if (interpret_requested()) {
    c.why = "TILE_INTERPRET";
    goto slow;
  }
  if (tl_bind(k, a, &b)) {
    c.why = "arguments that do not bind simply"; /* the Python path binds, or words the error */
    goto slow;
  }
  if ((status = tl_read_call(&c, k, &b, &plan_obj, &key))) {
    if (status < 0) goto done;
    if (key) ckey = key; /* the Python path files the plan under it */
    goto slow;
  }
  /* from here the plan is filed: a decline needs no key */
  Plan *p = tl_plan_of(plan_obj);
  if (!p || !(buffer = tl_buffer(p, local, sizeof local))) goto done;
  status = tl_fill_from_c(p, c.raw, buffer) ? tl_decline(&c, "a value out of range")
                                            : fill_descriptors(&c, p, buffer);
  if (status) {
    if (status < 0) goto done;
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
  if ((status = tl_resolve_stream(&c, b.options[2], &stream))) {
    if (status < 0) goto done;
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
  result = slow(self, a, args, ckey);
done:
  if (buffer && buffer != local) free(buffer);
  Py_XDECREF(plan_obj);
  Py_XDECREF(key);
  return result;
}

static PyObject *bound_call(PyObject *self, PyObject *args, PyObject *kwargs) {
  PyObject *items[MAX_PARAMS];
  Call_args a = {items, PyTuple_Size(args), NULL, kwargs};
  if (a.nargs > MAX_PARAMS) a.nargs = MAX_PARAMS + 1; /* binds to nothing: the Python path */
  for (Py_ssize_t i = 0; i < a.nargs && i < MAX_PARAMS; i++) items[i] = PyTuple_GetItem(args, i);
  return launch_call((Bound *)self, &a, args);
}

static PyObject *bound_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames) {
  Call_args a = {args, (Py_ssize_t)(nargsf & ~VECTORCALL_ARGUMENTS_OFFSET),
                 kwnames && PyTuple_Size(kwnames) ? kwnames : NULL, NULL};
  return launch_call((Bound *)self, &a, NULL);
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
  self->vectorcall = bound_vectorcall;
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
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Bound, vectorcall), READONLY, NULL},
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
  if (Py_Version >= 0x030C0000)
    spec.flags |= HAVE_VECTORCALL_FLAG;
  else /* 3.11: tp_call only (vectorcall is not in its stable ABI) */
    bound_members[2].name = NULL;
  bound_type = PyType_FromSpec(&spec);
  Py_XINCREF(bound_type); /* one reference for the module, one kept here */
  return bound_type;
}
