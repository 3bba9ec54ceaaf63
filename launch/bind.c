/* Binding a call in C by a kernel's signature (`tile._launch.kernel(...)`), as Python would
 * for the plain cases; anything else is left to the Python path. */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stddef.h>
#include <stdlib.h>

#include "launch.h"

static PyObject *s_options[3]; /* num_warps, num_stages, stream */

static void kernel_free(PyObject *capsule) {
  Kernel *k = PyCapsule_GetPointer(capsule, KERNEL_CAPSULE);
  if (!k) return;
  Py_XDECREF(k->name);
  Py_XDECREF(k->table);
  Py_XDECREF(k->slow);
  Py_XDECREF(k->grid);
  Py_XDECREF(k->interpret);
  tl_memo_clear(k);
  for (Py_ssize_t i = 0; i < k->nparams; i++) {
    Py_XDECREF(k->names[i]);
    Py_XDECREF(k->defaults[i]);
  }
  free(k);
}

/* kernel(name, params, npositional, no_default, table, slow, grid, interpret):
 * params: per kernel parameter in order, (name, is_constexpr, default or `no_default`);
 * the first `npositional` may be passed by position, the rest by keyword only. The launch
 * options num_warps, num_stages and stream are keywords.
 * table: dict key -> plan; slow(fn, grid, args, kwargs, key or None) launches the Python way;
 * grid(fn, grid, constexprs) -> (x, y, z), or None for an empty grid;
 * interpret(fn, grid, args, kwargs): Bound.interpret. */
PyObject *tl_py_kernel(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *name, *params, *no_default, *table, *slow, *grid, *interpret;
  Py_ssize_t npositional;
  if (!PyArg_ParseTuple(args, "UO!nOO!OOO:kernel", &name, &PyTuple_Type, &params,
                        &npositional, &no_default, &PyDict_Type, &table, &slow, &grid,
                        &interpret))
    return NULL;
  Py_ssize_t n = PyTuple_Size(params);
  if (n > MAX_PARAMS || npositional < 0 || npositional > n) {
    PyErr_Format(PyExc_ValueError, "kernel: %zd parameters (%zd positional); the C path takes "
                 "up to %d", n, npositional, MAX_PARAMS);
    return NULL;
  }
  Kernel *k = calloc(1, sizeof(Kernel));
  if (!k) return PyErr_NoMemory();
  PyObject *capsule = PyCapsule_New(k, KERNEL_CAPSULE, kernel_free);
  if (!capsule) {
    free(k);
    return NULL;
  }
  PyObject *objects[] = {name, table, slow, grid, interpret};
  PyObject **fields[] = {&k->name, &k->table, &k->slow, &k->grid, &k->interpret};
  for (int i = 0; i < 5; i++) {
    Py_INCREF(objects[i]);
    *fields[i] = objects[i];
  }
  k->npositional = npositional;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *entry = PyTuple_GetItem(params, i), *pname, *fallback;
    int is_constexpr;
    if (!PyArg_ParseTuple(entry, "UpO:kernel parameter", &pname, &is_constexpr, &fallback)) {
      Py_DECREF(capsule);
      return NULL;
    }
    Py_INCREF(pname);
    PyUnicode_InternInPlace(&pname);
    k->names[i] = pname;
    if (fallback != no_default) {
      Py_INCREF(fallback);
      k->defaults[i] = fallback;
    }
    k->where[i] = is_constexpr ? (int)k->nconst++ : -1 - (int)k->nruntime++;
    k->nparams = i + 1;
  }
  if (!s_options[0]) {
    s_options[0] = PyUnicode_InternFromString("num_warps");
    s_options[1] = PyUnicode_InternFromString("num_stages");
    s_options[2] = PyUnicode_InternFromString("stream");
    if (!s_options[0] || !s_options[1] || !s_options[2]) {
      Py_DECREF(capsule);
      return NULL;
    }
  }
  return capsule;
}

/* forget(kernel): drops the plans the kernel's memo holds (after its dict was cleared). */
PyObject *tl_py_forget(PyObject *mod, PyObject *capsule) {
  (void)mod;
  Kernel *k = PyCapsule_GetPointer(capsule, KERNEL_CAPSULE);
  if (!k) return NULL;
  tl_memo_clear(k);
  Py_RETURN_NONE;
}

/* Which parameter (or, past nparams, which launch option) a keyword names; -1: none. */
static Py_ssize_t keyword_index(const Kernel *k, PyObject *name) {
  for (Py_ssize_t i = 0; i < k->nparams; i++)
    if (k->names[i] == name) return i;
  for (int j = 0; j < 3; j++)
    if (s_options[j] == name) return k->nparams + j;
  /* not interned (a ** dict built at run time): compare the text */
  for (Py_ssize_t i = 0; i < k->nparams + 3; i++) {
    PyObject *candidate = i < k->nparams ? k->names[i] : s_options[i - k->nparams];
    if (PyUnicode_Check(name) && PyUnicode_Compare(name, candidate) == 0) return i;
    if (PyErr_Occurred()) PyErr_Clear();
  }
  return -1;
}

static int bind_keyword(const Kernel *k, PyObject *name, PyObject *value, Py_ssize_t nargs,
                        PyObject **given) {
  Py_ssize_t i = keyword_index(k, name);
  if (i < nargs) return 1; /* unknown, or also given by position */
  given[i] = value;
  return 0;
}

int tl_bind(const Kernel *k, const Call_args *a, Bound_args *b) {
  PyObject *given[MAX_PARAMS + 3] = {NULL};
  Py_ssize_t nargs = a->nargs;
  if (nargs > k->npositional) return 1;
  for (Py_ssize_t i = 0; i < nargs; i++) given[i] = a->args[i];
  if (a->kwnames) {
    for (Py_ssize_t j = 0, n = PyTuple_Size(a->kwnames); j < n; j++)
      if (bind_keyword(k, PyTuple_GetItem(a->kwnames, j), a->args[nargs + j], nargs, given))
        return 1;
  } else if (a->kwargs) {
    Py_ssize_t position = 0;
    PyObject *name, *value;
    while (PyDict_Next(a->kwargs, &position, &name, &value))
      if (bind_keyword(k, name, value, nargs, given)) return 1;
  }
  for (Py_ssize_t i = 0; i < k->nparams; i++) {
    PyObject *v = given[i] ? given[i] : k->defaults[i];
    if (!v) return 1; /* missing */
    if (k->where[i] >= 0)
      b->constexprs[k->where[i]] = v;
    else
      b->runtime[-1 - k->where[i]] = v;
  }
  for (int j = 0; j < 3; j++) b->options[j] = given[k->nparams + j] ? given[k->nparams + j] : Py_None;
  return 0;
}

/* -- KernelBase: `kernel[grid]` in C ---------------------------------------------------------- */
/* The base of JITFunction: with `_native` set to a kernel(...) capsule, kernel[grid] is a
 * Bound made here; without, the Python method `_python_launcher(grid)` makes it. */
typedef struct {
  PyObject_HEAD
  PyObject *native;
} KernelBase;

static PyObject *s_python_launcher;

static PyObject *kernel_base_subscript(PyObject *self, PyObject *grid) {
  PyObject *native = ((KernelBase *)self)->native;
  if (!native || native == Py_None)
    return PyObject_CallMethodObjArgs(self, s_python_launcher, grid, NULL);
  return tl_new_bound(native, self, grid);
}

static void kernel_base_dealloc(PyObject *self) {
  PyTypeObject *type = Py_TYPE(self);
  Py_CLEAR(((KernelBase *)self)->native);
  freefunc free_ = (freefunc)PyType_GetSlot(type, Py_tp_free);
  free_(self);
  Py_DECREF(type);
}

static PyMemberDef kernel_base_members[] = {
    {"_native", T_OBJECT, offsetof(KernelBase, native), 0,
     "the kernel(...) capsule kernel[grid] launches by, or None"},
    {NULL, 0, 0, 0, NULL}};

PyObject *tl_kernel_base_type(void) {
  if (!(s_python_launcher = PyUnicode_InternFromString("_python_launcher"))) return NULL;
  static PyType_Slot slots[] = {{Py_mp_subscript, (void *)kernel_base_subscript},
                                {Py_tp_dealloc, (void *)kernel_base_dealloc},
                                {Py_tp_members, kernel_base_members},
                                {Py_tp_new, (void *)PyType_GenericNew},
                                {Py_tp_doc, "The C side of a tile kernel: kernel[grid]"},
                                {0, NULL}};
  static PyType_Spec spec = {"tile._launch.KernelBase", sizeof(KernelBase), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, slots};
  return PyType_FromSpec(&spec);
}
