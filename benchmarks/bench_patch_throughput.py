"""CPU throughput of CSMF-Net and the patch ResNet against a minimal plain-torch reference.

Peers, in the same run (torchvision cannot be installed beside this torch, so the peer is the
same architecture written straightforwardly from the papers with ``torch.nn``, below):

- ``RefPatchResNet``: torchvision-style ``BasicBlock`` (conv-bn-relu-conv-bn + identity or 1x1
  projection shortcut), ``AdaptiveAvgPool2d`` and an MLP head;
- ``RefCSMFNet``: three conv encoders of the same blocks (imagery, crown mask, crown-gated
  height), single-head cross-attention with Q from the imagery tokens and K / V from the
  concatenated height + crown tokens (``nn.Linear`` projections and
  ``F.scaled_dot_product_attention``; ``nn.MultiheadAttention`` would add an output projection
  and so a different parameter count), residual + LayerNorm, MLP head to (mean, log-variance).

Each reference gets the geoagb network's weights (same parameter count, asserted; same outputs
in eval mode, asserted), so the two do exactly the same arithmetic and only the implementation
differs. Inputs are the default patches of 26 x 26 px, 6 bands (blue, green, red, nir, crown,
height), default architectures.

Part 1, networks, at torch threads ``--threads`` (default 1 and 2):

- ``train``: patches/s of forward + backward + AdamW step, batch 64, ``train()`` mode;
  ``train_cl`` the same with model and input in channels-last memory format;
- inference, patches/s of the forward at batch 256 in ``eval()`` mode: ``no_grad``
  (``torch.no_grad``), ``inference_mode`` (``torch.inference_mode``, what geoagb's predict
  uses), ``channels_last`` (inference mode, model and input channels-last) and ``compile``
  (``torch.compile`` with the default inductor backend, inference mode; compiled once per thread
  count, compile seconds printed; the first compile in a fresh inductor cache is much slower
  than later ones; ``--no-compile`` skips it).

Every variant of both implementations runs once per repeat, in an order rotated each repeat,
so that geoagb and its peer see the same load of a shared machine; each number is the best of
``--repeats`` (the first repeat doubles as the warm-up). ``geo/ref`` is geoagb's patches/s over
the reference's (>1: geoagb faster); the speed-ups are a mode over the plain mode of the same
network (``train`` for ``train_cl``, ``no_grad`` for the inference modes).

Part 2, mapping: a 1 km x 1 km scene at 1 m (``geoagb.datasets.make_scene``, GeoTIFFs in a
temporary folder) is mapped at 30 m (33 x 33 cells, each from the 26 x 26 px patch at its centre)
by ``predict_raster`` with a CSMF-Net (default size, fitted for 2 epochs on 60 plots: only the
timing matters). Printed: total seconds, seconds inside the network's forward (the fitted
module's ``forward`` is wrapped with a timer) and their share, and the peer, alternating with
it: a bare loop that reads the whole stack with rasterio, cuts the same patches, runs the same
network under ``inference_mode`` at batch 256 and writes a GeoTIFF (its map is asserted equal to
``predict_raster``'s); ``bare/geo`` > 1 means predict_raster is faster.

    python benchmarks/bench_patch_throughput.py [--threads 1 2] [--repeats 3] [--no-compile]
        [--part all|nets|mapping] [--quick]

``--quick`` (smoke test, a few seconds): tiny networks, one thread count, no compile, a 300 m
scene. Timings on a shared machine are noisy: every number is the best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _timing import best_time
from torch import nn

PATCH = 26
BANDS = ["blue", "green", "red", "nir", "crown", "height"]
TRAIN_BATCH = 64
INFER_BATCH = 256


# ---- minimal references ------------------------------------------------------------------------
def conv3x3(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision's ``resnet.BasicBlock`` (expansion 1)."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


def encoder(c_in, width, n_stages, blocks):
    layers = []
    for i in range(n_stages):
        planes = width * 2**i
        for j in range(blocks):
            layers.append(BasicBlock(c_in, planes, 2 if (i > 0 and j == 0) else 1))
            c_in = planes
    return nn.Sequential(*layers), c_in


def mlp(c_in, hidden, dropout):
    layers = []
    for h in hidden:
        layers += [nn.Linear(c_in, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        c_in = h
    return nn.Sequential(*layers, nn.Linear(c_in, 2))


class RefPatchResNet(nn.Module):
    def __init__(self, n_channels=6, width=64, n_stages=4, blocks=1, head=(256, 128, 64, 32, 16)):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_channels))
        self.register_buffer("std", torch.ones(n_channels))
        self.features, c = encoder(n_channels, width, n_stages, blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = mlp(c, head, 0.2)

    def forward(self, x):
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class RefCSMFNet(nn.Module):
    def __init__(self, n_image=4, width=32, n_stages=3, blocks=1, d_k=64, head=(128, 64, 32)):
        super().__init__()
        self.n_image = n_image
        self.register_buffer("mean", torch.zeros(n_image + 2))
        self.register_buffer("std", torch.ones(n_image + 2))
        self.enc_image, c = encoder(n_image, width, n_stages, blocks)
        self.enc_crown, _ = encoder(1, width, n_stages, blocks)
        self.enc_height, _ = encoder(1, width, n_stages, blocks)
        self.q = nn.Linear(c, d_k)
        self.k = nn.Linear(2 * c, d_k)
        self.v = nn.Linear(2 * c, d_k)
        self.norm = nn.LayerNorm(d_k)
        self.head = mlp(d_k, head, 0.2)

    def forward(self, x):
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        n = self.n_image
        image, crown = x[:, :n], x[:, n : n + 1]
        height = x[:, n + 1 : n + 2] * crown
        f_i = self.enc_image(image).flatten(2).transpose(1, 2)  # (N, L, C) tokens
        f_t = self.enc_crown(crown).flatten(2).transpose(1, 2)
        f_h = self.enc_height(height).flatten(2).transpose(1, 2)
        ctx = torch.cat([f_h, f_t], dim=-1)
        q = self.q(f_i)
        fused = self.norm(q + F.scaled_dot_product_attention(q, self.k(ctx), self.v(ctx)))
        return self.head(fused.mean(dim=1))


# ---- the pairs -----------------------------------------------------------------------------------
def n_params(net):
    return sum(p.numel() for p in net.parameters())


def copy_weights(src, dst):
    """Copy ``src``'s state into ``dst`` entry by entry, in registration order (same shapes)."""
    a, b = src.state_dict(), dst.state_dict()
    assert len(a) == len(b), (len(a), len(b))
    new = {}
    for (ka, va), (kb, vb) in zip(a.items(), b.items()):
        assert va.shape == vb.shape, (ka, va.shape, kb, vb.shape)
        new[kb] = va.clone()
    dst.load_state_dict(new)


def make_pairs(quick):
    from geoagb.deep._csmf import CSMFNet
    from geoagb.deep._resnet import PatchResNet

    if quick:
        res_kw, csmf_kw = dict(width=8, n_stages=3, head=(32, 16)), dict(width=8, d_k=16)
        csmf_head = (32, 16)
    else:  # the estimators' defaults
        res_kw, csmf_kw, csmf_head = {}, {}, (128, 64, 32)
    geo_res = PatchResNet(6, **res_kw)
    ref_res = RefPatchResNet(6, **res_kw)
    geo_csmf = CSMFNet(6, [0, 1, 2, 3], 4, 5, head=csmf_head, **csmf_kw)
    ref_csmf = RefCSMFNet(4, head=csmf_head, **csmf_kw)
    rng = np.random.default_rng(0)
    for geo in (geo_res, geo_csmf):  # non-trivial input scaling, like a fitted estimator
        shift = rng.normal(0, 1, 6)
        shift[4:] = 0.0
        geo.set_input_stats(shift, rng.uniform(0.5, 2.0, 6))
    pairs = {}
    for name, geo, ref in (("PatchResNet", geo_res, ref_res), ("CSMF-Net", geo_csmf, ref_csmf)):
        copy_weights(geo, ref)
        pg, pr = n_params(geo), n_params(ref)
        assert pg == pr, f"{name}: geoagb {pg} parameters, reference {pr}"
        x = toy_batch(8)
        geo.eval(), ref.eval()
        with torch.no_grad():
            diff = float((geo(x) - ref(x)).abs().max())
        assert diff < 1e-4, f"{name}: eval outputs differ by {diff}"
        print(
            f"{name:12s} parameters: geoagb {pg:,}  reference {pr:,}  (max |out diff| {diff:.1e})"
        )
        pairs[name] = (geo, ref)
    return pairs


def toy_batch(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 6, PATCH, PATCH, generator=g)
    x[:, 4] = (x[:, 4] > 0.4).float()  # crown mask
    x[:, 5] *= 30.0  # height, m
    return x


# ---- timing ------------------------------------------------------------------------------------
def train_step(net, channels_last=False):
    """One forward + backward + AdamW step at batch 64 (after one warm-up step)."""
    import copy

    net = copy.deepcopy(net).train()  # the inference copies keep their weights
    x, y = toy_batch(TRAIN_BATCH), torch.randn(TRAIN_BATCH)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)

    def step():
        out = net(x)
        loss = F.mse_loss(out[:, 0], y) + 1e-3 * out[:, 1].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # allocations, optimizer state
    return step, TRAIN_BATCH


def infer_call(net, ctx=torch.inference_mode, channels_last=False):
    """One eval forward at batch 256 under ``ctx``."""
    import copy

    x = toy_batch(INFER_BATCH)
    if channels_last:
        net = copy.deepcopy(net).to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    net.eval()

    def call():
        with ctx():
            net(x)

    return call, INFER_BATCH


def compiled(net):
    """``torch.compile(net)`` warmed up under inference mode: (module, compile seconds)."""
    import copy

    c = torch.compile(copy.deepcopy(net).eval())
    t = time.perf_counter()
    with torch.inference_mode():
        c(toy_batch(INFER_BATCH))
    return c, time.perf_counter() - t


def interleaved(calls, repeats):
    """Patches/s of every ``(fn, n)`` in ``calls``, best of ``repeats``: each repeat runs all of
    them once, in an order rotated every repeat, so that geoagb and its peer (and the modes)
    see the same load of a shared machine. The first repeat also warms up."""
    keys = list(calls)
    best = dict.fromkeys(keys, float("inf"))
    for r in range(repeats):
        for k in keys[r % len(keys) :] + keys[: r % len(keys)]:
            fn, _ = calls[k]
            best[k] = min(best[k], best_time(fn, 1))
    return {k: calls[k][1] / best[k] for k in keys}


def bench_nets(threads, repeats, quick, use_compile):
    pairs = make_pairs(quick)
    rows = []
    for t in threads:
        torch.set_num_threads(t)
        for name, (geo, ref) in pairs.items():
            calls = {}
            for impl, net in (("geoagb", geo), ("reference", ref)):
                calls[impl, "train"] = train_step(net)
                calls[impl, "train_cl"] = train_step(net, channels_last=True)
                calls[impl, "no_grad"] = infer_call(net, ctx=torch.no_grad)
                calls[impl, "inference_mode"] = infer_call(net)
                calls[impl, "channels_last"] = infer_call(net, channels_last=True)
                if use_compile:
                    try:  # compiled per thread count: inductor bakes the thread count in
                        c, sec = compiled(net)
                        calls[impl, "compile"] = infer_call(c)
                        print(f"  threads {t} torch.compile {name} {impl}: {sec:.1f} s", flush=True)
                    except Exception as exc:  # noqa: BLE001 - report and go on without it
                        print(f"  torch.compile {name} {impl} failed: {type(exc).__name__}: {exc}")
            rates = interleaved(calls, repeats)
            for impl in ("geoagb", "reference"):
                r = {"threads": t, "model": name, "impl": impl}
                r.update({m: v for (i, m), v in rates.items() if i == impl})
                rows.append(r)
            print(f"  threads {t} {name} done", flush=True)
    return rows


def print_nets(rows):
    modes = ["train", "train_cl", "no_grad", "inference_mode", "channels_last", "compile"]
    modes = [m for m in modes if any(m in r for r in rows)]
    print(
        f"\nPatches/s, {PATCH}x{PATCH} px, 6 bands; train: batch {TRAIN_BATCH} fwd+bwd+AdamW; "
        f"infer: batch {INFER_BATCH}, eval()"
    )
    head = f"{'thr':>3s} {'model':11s} {'impl':9s}" + "".join(f"{m:>14s}" for m in modes)
    print(head)
    key = {(r["threads"], r["model"], r["impl"]): r for r in rows}
    for r in rows:
        print(
            f"{r['threads']:3d} {r['model']:11s} {r['impl']:9s}"
            + "".join(f"{r[m]:14.1f}" if m in r else f"{'-':>14s}" for m in modes)
        )
        if r["impl"] == "reference":
            g = key[r["threads"], r["model"], "geoagb"]
            print(
                f"{'':3s} {'':11s} {'geo/ref':9s}"
                + "".join(f"{g[m] / r[m]:13.2f}x" if m in r else f"{'-':>14s}" for m in modes)
            )
    print(
        "\nSpeed-ups over the plain mode of the same network (train; no_grad eval for inference):"
    )
    for r in rows:
        print(
            f"{r['threads']:3d} {r['model']:11s} {r['impl']:9s}"
            f"  train_cl {r['train_cl'] / r['train']:.2f}x"
            + "".join(
                f"  {m} {r[m] / r['no_grad']:.2f}x"
                for m in ("inference_mode", "channels_last", "compile")
                if m in r
            )
        )


# ---- mapping -------------------------------------------------------------------------------------
class ForwardTimer:
    """Wraps a module's ``forward``: total seconds and patches through it."""

    def __init__(self, module):
        self.seconds, self.patches, self._f = 0.0, 0, module.forward
        module.forward = self

    def __call__(self, x, *a, **k):
        t = time.perf_counter()
        out = self._f(x, *a, **k)
        self.seconds += time.perf_counter() - t
        self.patches += len(x)
        return out


def bare_map(est, sources, out_path, resolution):
    """The peer: whole-scene rasterio read, same patches, same network, one GeoTIFF write."""
    import rasterio

    from geoagb.mapping._patch import patch_offset

    reads = {"blue": ("image", 1), "green": ("image", 2), "red": ("image", 3)}
    reads.update({"nir": ("image", 4), "crown": ("crown", 1), "height": ("chm", 1)})
    arrs = []
    for b in est.bands_:
        src_name, band = reads[b]
        with rasterio.open(sources[src_name]) as src:
            a = src.read(band, masked=True).astype(np.float32)
            transform, crs, res = src.transform, src.crs, src.res[0]
        arrs.append(a.filled(np.nan))
    data = np.stack(arrs)
    f = int(round(resolution / res))
    h, w = data.shape[1] // f, data.shape[2] // f
    p = int(est.patch_size_[0])
    o = patch_offset(f, p)
    pad = max(0, -o) + p
    data = np.pad(data, ((0, 0), (pad, pad), (pad, pad)), constant_values=np.nan)
    start = o + pad
    view = np.lib.stride_tricks.sliding_window_view(data, (p, p), axis=(1, 2))
    patches = view[:, start : start + h * f : f, start : start + h * f : f][:, :h, :w]
    x = np.ascontiguousarray(patches.transpose(1, 2, 0, 3, 4).reshape(h * w, len(arrs), p, p))
    shift = est.module_.scaler.shift.numpy()[None, :, None, None]
    x = torch.from_numpy(np.where(np.isfinite(x), x, shift).astype(np.float32))
    net = est.module_.eval()
    with torch.inference_mode():
        out = torch.cat([net(b) for b in torch.split(x, INFER_BATCH)]).double().numpy()
    agb = est.y_mean_ + est.y_scale_ * out[:, 0]
    std = est.y_scale_ * np.exp(0.5 * np.clip(out[:, 1], -30, 30))
    prof = dict(
        driver="GTiff",
        width=w,
        height=h,
        count=2,
        dtype="float32",
        crs=crs,
        transform=transform * transform.scale(f, f),
        nodata=np.nan,
    )
    with rasterio.open(out_path, "w", **prof) as dst:
        dst.write(np.stack([agb, std]).reshape(2, h, w).astype(np.float32))
    return h * w


def bench_mapping(threads, repeats, quick):
    import rasterio

    from geoagb.datasets import make_scene
    from geoagb.deep import CSMFNetRegressor
    from geoagb.features import extract_patches
    from geoagb.mapping import predict_raster

    size_m = 300.0 if quick else 1000.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        scene = make_scene(tmp, size_m=size_m, n_plots=60, random_state=0)
        bands = {b: b for b in BANDS[:5]} | {"height": "chm"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = extract_patches(scene.sources, scene.plots, size_m=scene.plot_size_m, bands=bands)
        print(f"\nscene {size_m:g} m at 1 m, {len(X)} plots ({time.perf_counter() - t:.1f} s)")
        kw = dict(width=8, d_k=16, head=(32, 16)) if quick else {}
        est = CSMFNetRegressor(
            max_epochs=2, patience=None, verbose=0, random_state=0, device="cpu", **kw
        )
        est.fit(X, scene.plots["agb"].to_numpy(float))
        src = {k: v for k, v in scene.sources.items() if k in ("image", "crown", "chm")}
        for t_ in threads:
            est.set_params(n_jobs=t_)
            torch.set_num_threads(t_)
            timer = ForwardTimer(est.module_)
            bare_path = Path(tmp) / "bare.tif"
            runs, bare_runs = [], []
            for i in range(repeats):  # predict_raster and its peer alternate: same machine load
                timer.seconds, timer.patches = 0.0, 0
                t0 = time.perf_counter()
                predict_raster(
                    est,
                    src,
                    Path(tmp) / f"geo_{i}.tif",
                    resolution=30,
                    bands={"height": "chm"},
                    progress=False,
                    overviews=False,
                )
                runs.append((time.perf_counter() - t0, timer.seconds, timer.patches))
                timer.seconds = 0.0
                t0 = time.perf_counter()
                bare_map(est, src, bare_path, 30.0)
                bare_runs.append((time.perf_counter() - t0, timer.seconds))
            est.module_.forward = timer._f
            total, net_s, n_patches = min(runs)
            bare, bare_net = min(bare_runs)
            with rasterio.open(Path(tmp) / "geo_0.tif") as m, rasterio.open(bare_path) as b:
                cells = m.width * m.height
                diff = np.nanmax(np.abs(m.read(1) - b.read(1)))
            assert diff < 1e-2, f"bare loop and predict_raster maps differ by {diff} Mg/ha"
            rows.append((t_, cells, n_patches, total, net_s, bare, bare_net))
    print(f"Mapping {size_m:g} m x {size_m:g} m at 30 m from 1 m inputs, CSMF-Net, predict_raster")
    print(
        f"{'thr':>3s} {'cells':>6s} {'patches':>8s} {'total s':>8s} {'network s':>10s} "
        f"{'share':>6s} {'bare s':>7s} {'bare net s':>10s} {'bare/geo':>9s}"
    )
    for t_, cells, n_patches, total, net_s, bare, bare_net in rows:
        print(
            f"{t_:3d} {cells:6d} {n_patches:8d} {total:8.2f} {net_s:10.2f} "
            f"{net_s / total:6.1%} {bare:7.2f} {bare_net:10.2f} {bare / total:8.2f}x"
        )
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--part", choices=["all", "nets", "mapping"], default="all")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    threads = args.threads[:1] if args.quick else args.threads
    repeats = 1 if args.quick else max(2, args.repeats)  # the first repeat warms up
    use_compile = not (args.quick or args.no_compile)
    print(f"torch {torch.__version__}, CPU, threads {threads}, best of {repeats}")
    if args.part in ("all", "nets"):
        print_nets(bench_nets(threads, repeats, args.quick, use_compile))
    if args.part in ("all", "mapping"):
        bench_mapping(threads, repeats, args.quick)


if __name__ == "__main__":
    main()
