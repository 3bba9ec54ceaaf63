/* Binding a call in C by a kernel's signature (`tile._launch.kernel(...)`), as Python would
 * for the plain cases; anything else is left to the Python path. */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

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
  for (Py_ssize_t i = 0; i < k->nparams; i++) {
    Py_XDECREF(k->names[i]);
    Py_XDECREF(k->defaults[i]);
  }
  free(k);
}

/* kernel(name, params, npositional, no_default, table, slow, grid):
 * params: per kernel parameter in order, (name, is_constexpr, default or `no_default`);
 * the first `npositional` may be passed by position, the rest by keyword only. The launch
 * options num_warps, num_stages and stream are keywords.
 * table: dict key -> plan; slow(fn, grid, args, kwargs, key or None) launches the Python way;
 * grid(fn, grid, constexprs) -> (x, y, z), or None for an empty grid. */
PyObject *tl_py_kernel(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *name, *params, *no_default, *table, *slow, *grid;
  Py_ssize_t npositional;
  if (!PyArg_ParseTuple(args, "UO!nOO!OO:kernel", &name, &PyTuple_Type, &params, &npositional,
                        &no_default, &PyDict_Type, &table, &slow, &grid))
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
  PyObject *objects[] = {name, table, slow, grid};
  PyObject **fields[] = {&k->name, &k->table, &k->slow, &k->grid};
  for (int i = 0; i < 4; i++) {
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

int tl_bind(const Kernel *k, PyObject *args, PyObject *kwargs, Bound_args *b) {
  Py_ssize_t nargs = PyTuple_Size(args), used = 0;
  if (nargs > k->npositional) return 1;
  for (Py_ssize_t i = 0; i < k->nparams; i++) {
    PyObject *v = NULL;
    if (i < nargs)
      v = PyTuple_GetItem(args, i);
    else {
      if (kwargs && !(v = PyDict_GetItemWithError(kwargs, k->names[i])) && PyErr_Occurred())
        return -1;
      if (v)
        used++;
      else if (!(v = k->defaults[i]))
        return 1; /* missing */
    }
    if (k->where[i] >= 0)
      b->constexprs[k->where[i]] = v;
    else
      b->runtime[-1 - k->where[i]] = v;
  }
  for (int j = 0; j < 3; j++) {
    PyObject *v = NULL;
    if (kwargs && !(v = PyDict_GetItemWithError(kwargs, s_options[j])) && PyErr_Occurred())
      return -1;
    used += v != NULL;
    b->options[j] = v ? v : Py_None;
  }
  if (kwargs && PyDict_Size(kwargs) != used) return 1; /* an unknown or repeated keyword */
  return 0;
}

