/* Shared between launch.c (driver, plans, packing), read.c (reading a call) and fast.c (the
 * fast path). The rules they follow are python/tile/runtime/abi.py's: configure() hands them
 * over (struct Rules), and plans carry the slot codes; nothing here restates one. */
#ifndef TILE_LAUNCH_H
#define TILE_LAUNCH_H

#include <stdint.h>

#define PLAN_CAPSULE "tile._launch.Plan"
#define KERNEL_CAPSULE "tile._launch.Kernel"
#define LOCAL_BUFFER 4096 /* parameter bytes packed on the stack; larger plans use the heap */

/* A slot's struct code, parsed: 'Q' (u64), 'i' (int32), 'f' (float32), '<n>s' (n bytes). */
enum { SLOT_PTR, SLOT_I32, SLOT_F32, SLOT_BYTES };

typedef struct {
  unsigned kind, offset, index, size;
} Slot;

typedef struct {
  unsigned offset, size;         /* where its bytes go, how many */
  unsigned base, count;          /* the array's raw values: raw[base .. base + count) */
  PyObject *table;              /* the descriptor cache's dict of its encoding: by those values */
} TmaSlot;

typedef struct {
  unsigned long long function, context; /* CUfunction, its primary CUcontext */
  unsigned block[3], shared, size;
  Py_ssize_t nslots, ntma;
  Slot *slots;
  TmaSlot *tma;
} Plan;

/* The ABI's rules (runtime/abi.py `native_table`), set by configure(). */
struct Rules {
  long long int_min, int_max, grid_limits[3];
  unsigned long long int_low_bits;       /* an int's key: value & this == 0 (divisor - 1) */
  PyObject *int_keys[2], *float_key;      /* key parts: int [divisible], float */
  PyObject *interpret_requested;          /* interpreter.requested */
};
extern struct Rules tl_rules;

/* One raw value of a call: a pointer, a size, stride or int, or a float. */
typedef union {
  long long i;
  unsigned long long u;
  double f;
} Raw;

struct Stats {
  unsigned long long fast, memo_hits, declined, python_path;
  const char *last_decline;
};
extern struct Stats tl_stats;
extern PyObject *tl_CudaError;

Plan *tl_plan_of(PyObject *capsule);
int tl_ensure_driver(void);
int tl_driver_launch(const Plan *p, const unsigned grid[3], unsigned long long stream,
                     unsigned char *buffer);
int tl_fill_from_python(const Plan *p, PyObject *raw, PyObject *blobs, unsigned char *buffer);
int tl_fill_from_c(const Plan *p, const Raw *raw, unsigned char *buffer);
unsigned char *tl_buffer(const Plan *p, unsigned char *local, size_t local_size);
int tl_grid_from_tuple(PyObject *grid, unsigned out[3]);

/* A kernel's parameters, for binding a call in C (bind.c). */
#define MAX_PARAMS 64

/* The last call signatures a kernel launched, each with its plan (read.c). */
#define MEMO_ENTRIES 4
#define SIG_WORDS (5 + 2 * MAX_PARAMS + 3 * MAX_PARAMS)

typedef struct {
  int n;
  unsigned long long sig[SIG_WORDS];
  PyObject *plan, *pins; /* pins: the objects the signature names by identity */
} MemoEntry;


typedef struct {
  PyObject *name, *table, *slow, *grid, *interpret;
  Py_ssize_t nparams, npositional, nruntime, nconst;
  PyObject *names[MAX_PARAMS];    /* interned */
  PyObject *defaults[MAX_PARAMS]; /* NULL: required */
  int where[MAX_PARAMS];          /* >= 0: constexpr index; < 0: -1 - runtime index */
  MemoEntry memo[MEMO_ENTRIES];
  int memo_next;
} Kernel;

/* A call's arguments by parameter, as the kernel's Python signature would bind them
 * (borrowed references). */
typedef struct {
  PyObject *runtime[MAX_PARAMS], *constexprs[MAX_PARAMS];
  PyObject *options[3]; /* num_warps, num_stages, stream; None when not given */
} Bound_args;

/* A call as it came: positional values, then keywords either as vectorcall's names (their
 * values follow the positional ones) or as a dict (tp_call). */
typedef struct {
  PyObject *const *args;
  Py_ssize_t nargs;
  PyObject *kwnames, *kwargs; /* at most one of them */
} Call_args;

/* 0 bound; 1 for anything unusual, which the Python path binds (and words the error of). */
int tl_bind(const Kernel *k, const Call_args *a, Bound_args *b);

/* -- one call, read (read.c) -------------------------------------------------------------- */
#define MAX_RAW 256
#define MAX_ARRAYS 32
#define MAX_RANK 16

enum { PART_INT = 5, PART_INT_DIVISIBLE = 6, PART_FLOAT = 7, PART_ARRAY = 8 };

typedef struct {
  int kind;
  PyObject *element, *dtype; /* arrays: MLIR element type name, torch dtype (borrowed) */
  unsigned long long mask;   /* arrays: signature.array_key's divisibility mask */
  int rank;                  /* arrays: 1 + 2 * rank raw values */
} Part;

typedef struct {
  Raw raw[MAX_RAW];
  Py_ssize_t nraw;
  int narrays;
  long device;     /* -1: no arrays */
  const char *why; /* why the call goes to the Python path */
  Part parts[MAX_PARAMS];
  unsigned long long sig[SIG_WORDS];
  int nsig, memo;
  PyObject *pins[2 * MAX_PARAMS + 2];
  int npins;
} Call;

int tl_configured(void);
/* Declines (clearing any exception, which the Python path meets again): returns 1. */
int tl_decline(Call *c, const char *why);
/* 0: *plan (a new reference) found, *key the key if it was built; 1: decline (c->why),
 * with *key when the key was built but has no plan yet; -1: an error. */
int tl_read_call(Call *c, Kernel *k, const Bound_args *b, PyObject **plan, PyObject **key);
int tl_resolve_stream(Call *c, PyObject *given, unsigned long long *stream);
void tl_memo_clear(Kernel *k);

PyObject *tl_py_configure(PyObject *mod, PyObject *table);
PyObject *tl_py_read_arguments(PyObject *mod, PyObject *values);
PyObject *tl_py_kernel(PyObject *mod, PyObject *args);
PyObject *tl_py_forget(PyObject *mod, PyObject *capsule);
PyObject *tl_bound_type(void);
PyObject *tl_kernel_base_type(void);
PyObject *tl_new_bound(PyObject *kernel, PyObject *fn, PyObject *grid);

#endif
