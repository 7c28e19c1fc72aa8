"""Train the EDM denoiser prior on Colin27 template patches, or on your own images.

  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.train --out models/train_run --steps 6000
  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.train --out my_run --data my_images/ \
      --init models/brain_prior.pt --channels 32,64,128,96 --attention --device cuda

Checkpoints go to OUT/checkpoint.pt (atomic: temp file + rename) every
--ckpt-minutes and at the end; --resume continues exactly (model, EMA, optimiser,
step, data and noise RNG states).  The loss is logged to OUT/train_log.tsv.
"""
import argparse
import json
import os
import random
import time
import zipfile

import numpy as np
import torch

from .data import ImageSlices, TemplateSlices
from .synthetic import SyntheticHeads
from .edm import P_MEAN, P_STD, EDMDenoiser, EMA, edm_loss, sample_sigma
from .unet import UNet, count_parameters, load_into_deeper


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--steps", type=int, default=6000, help="total optimiser steps")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=200, help="linear LR warm-up steps")
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    ap.add_argument("--ema-decay", type=float, default=0.999)
    ap.add_argument("--ckpt-minutes", type=float, default=10.0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--channels", type=str, default="32,64,128", help="U-Net channels per level")
    ap.add_argument("--num-blocks", type=int, default=2)
    ap.add_argument("--emb-dim", type=int, default=128)
    ap.add_argument("--attention", action="store_true", help="self-attention at the lowest level")
    ap.add_argument("--p-mean", type=float, default=P_MEAN,
                    help="mean of ln(sigma) in training; larger images need more weight on high noise, "
                    "where the layout of a slice forms (about +0.7 per doubling of the side)")
    ap.add_argument("--p-std", type=float, default=P_STD, help="standard deviation of ln(sigma)")
    ap.add_argument("--whole-p-mean", type=float, default=None,
                    help="mean of ln(sigma) for the whole-slice views (default: --p-mean). A slice's layout "
                    "is only learnt at high noise, and only from whole-slice views")
    ap.add_argument("--whole-p-std", type=float, default=None,
                    help="standard deviation of ln(sigma) for the whole-slice views (default: --p-std)")
    ap.add_argument("--coarse-fraction", type=float, default=0.0,
                    help="share of whole-slice views (a whole slice shrunk into the patch; template: axial)")
    ap.add_argument("--whole-upright", action="store_true",
                    help="whole-slice views keep the slice's orientation (left-right mirror only, small "
                    "rotations); without it they are also turned and flipped like the crops, eight "
                    "layouts to learn instead of two")
    ap.add_argument("--whole-scales", type=int, default=1,
                    help="whole-slice views at this many sizes: the brain fills 60-85%% of the patch, or half, "
                    "a quarter, ... of that (2 with --patch 128 keeps the layout learnt at 64x64)")
    ap.add_argument("--data", nargs="+", default=None, metavar="PATH",
                    help="train on these images instead of the Colin27 template: NIfTI (2D or 3D, "
                    "slices along the last axis) or fastMRI HDF5 files (their reconstructions), or "
                    "folders of .nii/.nii.gz/.h5 files")
    ap.add_argument("--synthetic", action="store_true",
                    help="train on the template, Colin27 with its skull and synthetic heads from mricron-data's "
                    "label atlases (python/dapsmri_prior/synthetic.py) instead of the template alone; implies "
                    "--deform")
    ap.add_argument("--deform", action="store_true",
                    help="stretch every sample 0.7-1.4 per axis and warp it elastically (default: isotropic "
                    "scaling 0.9-1.1 only)")
    ap.add_argument("--init", default="", help="start from the model and EMA weights of another run's "
                    "checkpoint or of an exported prior archive (fine-tuning: fresh optimiser, step 0, the "
                    "EMA warm-up restarts); ignored when --resume finds OUT's own. The source may have "
                    "fewer levels (same blocks and embedding): its weights go into the deeper net's "
                    "matching layers and the new ones start fresh")
    args = ap.parse_args(argv)
    if args.synthetic and args.data:
        ap.error("--synthetic and --data choose different training sets; give one of them")
    if args.whole_scales < 1:
        ap.error("--whole-scales must be at least 1")
    return args


def checkpoint_config(ck: dict) -> dict:
    return {"attention": False, **ck["config"]}  # older checkpoints have no attention key


def load_init(path: str) -> dict:
    """A run's checkpoint, or an exported prior archive (its EMA weights, config read off
    the tensor shapes) in the same form, so a run can start from the shipped prior."""
    if not os.path.isfile(path):
        raise SystemExit(f"--init {path}: no such file (give a run's checkpoint.pt or a prior archive)")
    is_archive = False
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            is_archive = any(n.endswith("extra/dapsmri.json") for n in z.namelist())
    if not is_archive:
        return torch.load(path, map_location="cpu")
    state = {k[len("net."):]: v for k, v in torch.jit.load(path, map_location="cpu").state_dict().items()
             if k.startswith("net.")}
    try:
        levels = sorted({int(k.split(".")[1]) for k in state if k.startswith("encoder.")})
        if not levels:
            raise KeyError("encoder")
        config = dict(channels=[int(state[f"encoder.{i}.blocks.0.conv1.weight"].shape[0]) for i in levels],
                      num_blocks=len({k.split(".")[3] for k in state if k.startswith("encoder.0.blocks.")}),
                      emb_dim=int(state["embed.mlp.2.weight"].shape[0]),
                      attention=any(k.startswith("attn.") for k in state))
    except (KeyError, IndexError, ValueError):
        raise SystemExit(f"--init {path}: the archive's network is not this project's U-Net "
                         "(python/dapsmri_prior/unet.py), so its weights cannot seed a run") from None
    return {"config": config, "model": state, "ema": {"model": state}, "step": None}


def save_checkpoint(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic on POSIX: a kill never leaves a half-written checkpoint


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but CUDA is not available")
    device = torch.device(args.device)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    log_path = os.path.join(args.out, "train_log.tsv")

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    config = dict(channels=[int(c) for c in args.channels.split(",")],
                  num_blocks=args.num_blocks, emb_dim=args.emb_dim, attention=args.attention)
    net = UNet(**config)
    denoiser = EDMDenoiser(net).to(device)
    ema = EMA(net, args.ema_decay)
    ema.model.to(device)
    opt = torch.optim.Adam(denoiser.parameters(), lr=args.lr)
    if args.data:
        try:
            data = ImageSlices(args.data, patch=args.patch, seed=args.seed,
                               coarse_fraction=args.coarse_fraction, whole_upright=args.whole_upright,
                               whole_scales=args.whole_scales, deform=args.deform)
        except ValueError as e:
            raise SystemExit(f"--data: {e}") from None
    elif args.synthetic:
        data = SyntheticHeads(patch=args.patch, seed=args.seed, coarse_fraction=args.coarse_fraction,
                              whole_upright=args.whole_upright, whole_scales=args.whole_scales)
    else:
        data = TemplateSlices(patch=args.patch, seed=args.seed, coarse_fraction=args.coarse_fraction,
                              whole_upright=args.whole_upright, whole_scales=args.whole_scales, deform=args.deform)
    noise_gen = torch.Generator().manual_seed(args.seed + 1)  # CPU generator: same stream on any device
    step, wall = 0, 0.0
    whole_p_mean = args.p_mean if args.whole_p_mean is None else args.whole_p_mean
    whole_p_std = args.p_std if args.whole_p_std is None else args.whole_p_std

    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        if checkpoint_config(ck) != config:
            raise SystemExit(f"checkpoint config {ck['config']} != requested {config}")
        net.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["optimizer"])
        step, wall = ck["step"], ck["wall_time"]
        data.rng.bit_generator.state = ck["data_rng"]
        noise_gen.set_state(ck["noise_rng"])
        torch.set_rng_state(ck["torch_rng"])
        random.setstate(ck["python_rng"])
        print(f"resumed from {ckpt_path} at step {step} ({wall / 3600:.2f} h)", flush=True)
    else:
        if os.path.exists(log_path):
            os.remove(log_path)  # fresh run: start a fresh log
        if args.init:
            ck = load_init(args.init)
            old = checkpoint_config(ck)
            origin = "an exported prior" if ck["step"] is None else f"its step {ck['step']}"
            if old == config:
                net.load_state_dict(ck["model"])
                ema.model.load_state_dict(ck["ema"]["model"])
                print(f"initialised from {args.init} ({origin})", flush=True)
            elif (old["num_blocks"], old["emb_dim"]) == (config["num_blocks"], config["emb_dim"]) \
                    and len(old["channels"]) < len(config["channels"]):
                fresh = load_into_deeper(net, ck["model"], len(old["channels"]))
                load_into_deeper(ema.model, ck["ema"]["model"], len(old["channels"]))
                print(f"grew {args.init} ({origin}, channels {old['channels']}) to "
                      f"{config['channels']}; {len(fresh)} new tensors", flush=True)
            else:
                raise SystemExit(f"--init checkpoint config {old} does not fit requested {config}")

    if not os.path.exists(log_path):
        with open(log_path, "w") as f:
            f.write("step\twall_s\tloss\tlr\tsteps_per_s\n")
    with open(os.path.join(args.out, "args.json"), "w") as f:
        json.dump(vars(args), f, indent=1)
    print(f"parameters {count_parameters(net)}  slices {data.num_slices()}  "
          f"downsampling {net.downsampling_factor}", flush=True)

    def checkpoint():
        save_checkpoint(ckpt_path, dict(
            config=config, model=net.state_dict(), ema=ema.state_dict(), optimizer=opt.state_dict(),
            step=step, wall_time=wall, data_rng=data.rng.bit_generator.state,
            noise_rng=noise_gen.get_state(), torch_rng=torch.get_rng_state(),
            python_rng=random.getstate(), args=vars(args)))

    denoiser.train()
    last_ckpt = time.time()
    t_seg, loss_acc, n_acc = time.time(), 0.0, 0
    while step < args.steps:
        t0 = time.time()
        images, whole = data.sample(args.batch)
        x = torch.from_numpy(images)
        whole = torch.from_numpy(whole)
        sigma = sample_sigma(args.batch, noise_gen, torch.where(whole, whole_p_mean, args.p_mean),
                             torch.where(whole, whole_p_std, args.p_std))
        noise = torch.randn(x.shape, generator=noise_gen)
        x, sigma, noise = x.to(device), sigma.to(device), noise.to(device)

        lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = edm_loss(denoiser, x, sigma, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(denoiser.parameters(), 1.0)  # guards rare huge-sigma spikes
        opt.step()
        ema.update(net)
        step += 1
        wall += time.time() - t0
        loss_acc += float(loss)
        n_acc += 1

        if step % args.log_every == 0 or step == args.steps:
            rate = n_acc / (time.time() - t_seg)
            with open(log_path, "a") as f:
                f.write(f"{step}\t{wall:.1f}\t{loss_acc / n_acc:.5f}\t{lr:.3g}\t{rate:.4f}\n")
            print(f"step {step}  loss {loss_acc / n_acc:.4f}  {rate:.3f} steps/s", flush=True)
            t_seg, loss_acc, n_acc = time.time(), 0.0, 0
        if time.time() - last_ckpt > 60.0 * args.ckpt_minutes:
            checkpoint()
            last_ckpt = time.time()
    checkpoint()
    print(f"done: {step} steps, {wall / 3600:.2f} h", flush=True)


if __name__ == "__main__":
    main()
