"""Small kernels the frontend fuzzer (fuzz_frontend.py) starts from beside examples/:
one op family each, so that a swapped dtype or constexpr reaches that op's lowering."""
import tile


@tile.jit
def unary(X, Y, BLOCK: tile.constexpr, OP: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    x = tile.load(X, start, BLOCK, bound=X.shape[0])
    if OP == "exp":
        y = tile.exp(x)
    elif OP == "log":
        y = tile.log(x)
    elif OP == "sqrt":
        y = tile.sqrt(x)
    elif OP == "neg":
        y = -x
    else:
        y = tile.exp2(x)
    tile.store(Y, start, y, bound=Y.shape[0])


@tile.jit
def binary(X, Y, Z, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    x = tile.load(X, start, BLOCK, bound=n)
    y = tile.load(Y, start, BLOCK, bound=n)
    z = x * y + x / y - tile.maximum(x, y)
    z = tile.where(x < y, z, tile.minimum(x, z))
    tile.store(Z, start, z.to(Z.dtype), bound=n)


@tile.jit
def reduce_rows(X, Y, BM: tile.constexpr, BN: tile.constexpr, OP: tile.constexpr):
    row = tile.program_id(0) * BM
    x = tile.load(X, (row, 0), (BM, BN))
    if OP == "sum":
        r = tile.sum(x, 1)
    elif OP == "max":
        r = tile.max(x, 1)
    else:
        r = tile.min(x, 1)
    tile.store(Y, row, r.to(Y.dtype), bound=X.shape[0])


@tile.jit
def transpose_copy(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    x = tile.load(X, (i, j), (BM, BN))
    tile.store(Y, (j, i), tile.transpose(x))


@tile.jit
def one_mma(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BK))
    b = tile.load(B, (0, 0), (BK, BN))
    acc = tile.mma(a, b, tile.zeros((BM, BN), tile.float32))
    tile.store(C, (0, 0), acc.to(C.dtype))


@tile.jit
def loop_carried(X, Y, n, scale, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.float32)
    total = 0
    for k in range(0, n, BLOCK):
        x = tile.load(X, k, BLOCK, bound=n).to(tile.float32)
        acc = acc + x * scale
        total = total + 1
    if total > 2:
        acc = acc * 0.5
    tile.store(Y, 0, acc.to(Y.dtype) + tile.arange(BLOCK).to(Y.dtype))


@tile.jit
def sort_and_habits(X, V, I, BM: tile.constexpr, BN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    for k in tile.static_range(2):
        x = x ** 2 + abs(x).log1p() * k - tile.sum(x, 1, keep_dims=True)
    values, indices = tile.sort(x, 1, descending=True)
    values = values + tile.gather(x, indices, 1)
    tile.store(V, (0, 0), values.to(V.dtype) + tile.zeros_like(values).to(V.dtype))
    tile.store(I, (0, 0), indices + tile.arange(0, BN)[None, :])
