"""CSMF-Net on CUDA with bf16 autocast, checked against the same fit on the CPU.

Run where a GPU is present (it exits with a message otherwise): trains CSMF-Net on the same
toy patches and seed on the CPU (float32) and on CUDA (bf16 autocast), then reports training
and inference patches/s on each device and the agreement of the two fits' held-out
predictions. bf16 keeps 8 bits of mantissa, so the two fits are not bit-identical; the check
is on what a user sees: held-out R2 of the two within 0.05 of each other and a correlation of
their predictions above 0.95.

    python benchmarks/bench_gpu.py --patches 2048 --epochs 20
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def fit_predict(device, mixed_precision, X, y, test, epochs):
    from geoagb.deep import CSMFNetRegressor

    net = CSMFNetRegressor(
        image_bands=["blue", "green", "red", "nir"],
        max_epochs=epochs,
        patience=None,
        validation_fraction=0.0,
        device=device,
        mixed_precision=mixed_precision,
        verbose=0,
        random_state=0,
    )
    train = np.setdiff1d(np.arange(len(y)), test)
    t = time.perf_counter()
    net.fit(X[train], y[train])
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    pred = net.predict(X[test])
    t_pred = time.perf_counter() - t
    return pred, len(train) * epochs / t_fit, len(test) / t_pred


def main():
    import torch

    from geoagb.deep._toy import toy_patches
    from geoagb.metrics import r2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check (the CPU path is covered by the test suite)")
        return 0
    X, y = toy_patches(args.patches, size=26, random_state=0)
    test = np.arange(0, args.patches, 5)
    cpu, cpu_tr, cpu_inf = fit_predict("cpu", False, X, y, test, args.epochs)
    gpu, gpu_tr, gpu_inf = fit_predict("cuda", True, X, y, test, args.epochs)
    r2_cpu, r2_gpu = r2(y[test], cpu), r2(y[test], gpu)
    corr = float(np.corrcoef(cpu, gpu)[0, 1])
    print(f"device {torch.cuda.get_device_name(0)}; {args.patches} patches, {args.epochs} epochs")
    print(f"train patches/s: CPU {cpu_tr:,.0f}, CUDA bf16 {gpu_tr:,.0f} ({gpu_tr / cpu_tr:.1f}x)")
    print(
        f"inference patches/s: CPU {cpu_inf:,.0f}, CUDA bf16 {gpu_inf:,.0f} "
        f"({gpu_inf / cpu_inf:.1f}x)"
    )
    print(
        f"held-out R2: CPU {r2_cpu:.3f}, CUDA bf16 {r2_gpu:.3f}; correlation of predictions "
        f"{corr:.3f}"
    )
    ok = abs(r2_cpu - r2_gpu) <= 0.05 and corr >= 0.95
    print("agreement:", "OK" if ok else "FAILED (|dR2| <= 0.05 and r >= 0.95 required)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
