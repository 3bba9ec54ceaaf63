"""A model of the DRAM bytes a persistent GEMM reads, for comparing tile orders
without a GPU: rounds of `programs` tiles (examples/gemm.py's grouped_tile
order, columns snaking between groups) run in lockstep; at each k-step a round
reads the A and B tiles of its rows and columns at that k; L2 is an LRU cache
of `--l2` MiB. With 30 MiB it matched ncu's dram__bytes_read.sum for the
forward-only order within 1 % at GROUP 4, 8, 16 and 32 (4096^3, 128x256
tiles); it overrates the backwards rounds' gain (programs drift apart, which
lockstep ignores): 110-120 MB predicted against 122-140 measured.
    python -m benchmarks.experiments.l2_model [--l2 30] [--programs 132]"""
import argparse
from collections import OrderedDict

SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (8192, 4096, 4096), (8192, 4096, 14336),
          (8192, 14336, 4096), (8192, 14336, 14336)]


def grouped_tile(t, tiles_m, tiles_n, group, snake):
    """(row, column) of tile t, as examples/gemm.py's grouped_tile (in tiles)."""
    g = t // (group * tiles_n)
    rows = min(tiles_m - g * group, group)
    column = (t % (group * tiles_n)) // rows
    if snake and g % 2 == 1:
        column = tiles_n - 1 - column
    return g * group + t % rows, column


def dram_bytes(M, N, K, group, backwards, snake, l2_bytes, programs, BM=128, BN=256, BK=64):
    tiles_m, tiles_n, steps = -(-M // BM), -(-N // BN), -(-K // BK)
    tiles = tiles_m * tiles_n
    sizes = {"A": BM * BK * 2, "B": BK * BN * 2}
    lru, held, missed = OrderedDict(), 0, 0
    for r in range(-(-tiles // programs)):
        walk = [grouped_tile(t, tiles_m, tiles_n, group, snake)
                for t in range(r * programs, min(tiles, (r + 1) * programs))]
        reads = [("A", i) for i in sorted({i for i, _ in walk})]
        reads += [("B", j) for j in sorted({j for _, j in walk})]
        for k in (range(steps - 1, -1, -1) if backwards and r % 2 else range(steps)):
            for operand, index in reads:
                key = (operand, index, k)
                if key in lru:
                    lru.move_to_end(key)
                    continue
                missed += sizes[operand]
                lru[key] = sizes[operand]
                held += sizes[operand]
                while held > l2_bytes:
                    held -= lru.popitem(last=False)[1]
    return missed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--l2", type=float, default=30.0, help="L2 that holds data, MiB")
    parser.add_argument("--programs", type=int, default=132)
    args = parser.parse_args()
    l2 = int(args.l2 * 2**20)
    orders = {"G8 forwards": (8, False, False), "G16 forwards": (16, False, False),
              "G8 snake+backwards": (8, True, True), "G16 snake+backwards": (16, True, True)}
    print(f"DRAM MB read (model, L2 {args.l2} MiB, {args.programs} programs, 128x256 tiles)")
    print("| shape | A + B | " + " | ".join(orders) + " |")
    for M, N, K in SHAPES:
        cells = [f"{dram_bytes(M, N, K, *o, l2, args.programs) / 1e6:.0f}" for o in orders.values()]
        print(f"| {M}x{N}x{K} | {(M + N) * K * 2 / 1e6:.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
