"""The GPU path of training, run on the CPU: bf16 autocast, channels-last, crops gathered
on the device from one tensor, fused Adam, torch.compile; and the GPU memory plan.

CI has no GPU, so these tests run the CUDA code path's numerics on the CPU (CPU
autocast to bfloat16, the CPU's fused Adam) through the very functions a GPU run calls
(``Trainer.batch``, ``Trainer.step``, ``train_run``); what only CUDA does (cuDNN
autotuning, TF32, pinned memory, ``torch.cuda.mem_get_info``) sits in
``onerep.models.device`` and is tested here through its decisions.
"""

from __future__ import annotations

import logging
import shutil

import pandas as pd
import pytest
import torch

from onerep.models import build_network, load_model
from onerep.models.checkpoint import load_checkpoint
from onerep.models.data import load_run_data
from onerep.models.device import (
    GPU_RESERVE_BYTES,
    HOST_RESERVE_BYTES,
    compute_plan,
    host_free_bytes,
    plan_placement,
)
from onerep.models.loop import Trainer
from onerep.models.settings import TrainSettings
from onerep.models.train import train_run
from support.corpus import write_synthetic_corpus

torch.set_num_threads(1)
SOURCES = ["self", "bpm", "tag"]
GB = 10**9


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_tracks=32, frames=240,
                                  n_mels=32, sources=SOURCES, k=6, seed=4)


@pytest.fixture(scope="module")
def data(corpus):
    return load_run_data(corpus.mel, corpus.split, corpus.scaler,
                         [corpus.labels_dir / f"{s}.h5" for s in SOURCES if s != "self"], SOURCES, 216)


def _trainer(data, precision="fp32", strategy="mscr2", sources=SOURCES, fused=None, **kw) -> Trainer:
    settings = TrainSettings.from_mapping(dict(batch_size=8, width=0.25, device="cpu", precision=precision, **kw))
    net = build_network(strategy, sources, k=data.k, width=0.25, seed=7)
    plan = compute_plan("cpu", precision, fused_adam=fused)
    return Trainer(net, data, settings, seed=3, device=torch.device("cpu"), plan=plan)


def _flat_moments(tr: Trainer) -> torch.Tensor:
    """Adam's first moments after one step: (1 - beta1) x the gradient of every parameter
    that had one (the step zeroes the gradients themselves)."""
    return torch.cat([tr.opt.state[p]["exp_avg"].reshape(-1) for p in tr.net.parameters()
                      if p in tr.opt.state])


# ---------------------------------------------------------------------------------
# Compute plans
# ---------------------------------------------------------------------------------
def test_the_cuda_switches_are_the_plan_of_a_cuda_device():
    """What a GPU run would use, decided without a GPU; defaults keep the old fingerprints."""
    cuda = compute_plan("cuda")
    assert cuda.bf16 and cuda.fused_adam and cuda.channels_last and cuda.check_every == 50
    assert cuda.input_dtype == torch.bfloat16 and cuda.tag == "cuda"
    cpu = compute_plan("cpu")
    assert not cpu.bf16 and not cpu.fused_adam and cpu.channels_last and cpu.check_every == 1
    assert cpu.input_dtype == torch.float32 and cpu.tag == "cpu"
    assert compute_plan("cpu", "bf16").tag == "cpu-bf16"
    assert compute_plan("cuda", "fp32").tag == "cuda-fp32"
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32"):
        compute_plan("cpu", "fp16")
    with pytest.raises(ValueError, match=r"'precision' \(train.precision\): 'half' is not one of"):
        TrainSettings.from_mapping({"precision": "half"})


def test_bf16_batches_are_gathered_on_the_device_in_bf16_channels_last(data):
    tr = _trainer(data, "bf16")
    assert tr.data.bank.mel.dtype == torch.float16 and tr.data.bank.storage == tr.device
    for source in ("tag", "self"):
        x, y = tr.batch(source)
        assert x.dtype == torch.bfloat16 and x.device == tr.device
        assert x.is_contiguous(memory_format=torch.channels_last)
        assert x.shape == ((16 if source == "self" else 8), 2, 216, 32)
        assert y.dtype == torch.float32
    conv = tr.net.trunk.conv1.conv.weight
    assert conv.dtype == torch.float32 and conv.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("source", ["tag", "self"])
def test_one_bf16_step_agrees_with_one_float32_step(data, source):
    """Same network, batch and dropout masks: the bf16 step's loss and gradients differ from
    float32 by bf16 rounding only, never by NaN. bf16 keeps 8 mantissa bits (0.4 % per
    rounding); through 9 layers, training-mode BatchNorm on 8 crops and back, this gives
    (measured on this batch) a loss 0.4 % (tag) and 3.2 % (self) off and gradients with a
    cosine of 0.91 and 0.90 to float32's (0.95 per conv layer; the bias of a convolution
    followed by BatchNorm has no true gradient and only rounding noise)."""
    runs = {}
    for precision in ("fp32", "bf16"):
        tr = _trainer(data, precision, fused=True)  # the CUDA path's fused Adam, on the CPU
        g = torch.Generator().manual_seed(11)
        rows = torch.randperm(data.n_train, generator=g)[:8]
        if source == "self":
            rows = torch.cat([rows, torch.roll(rows, -1)])
        starts = data.bank.random_starts(rows, 216, g)
        x = data.bank.crops(starts, 216, tr.x_dtype, channels_last=True)
        y = tr.self_target if source == "self" else data.z_train[source][rows]
        dtypes = []
        hook = tr.net.trunk.conv1.conv.register_forward_hook(lambda m, i, o, dtypes=dtypes: dtypes.append(o.dtype))
        torch.manual_seed(5)
        loss = float(tr.step(source, x, y))
        hook.remove()
        runs[precision] = (loss, _flat_moments(tr), dtypes[0])
    (l32, m32, d32), (l16, m16, d16) = runs["fp32"], runs["bf16"]
    assert d32 == torch.float32 and d16 == torch.bfloat16  # autocast did run the conv in bf16
    assert torch.isfinite(torch.tensor(l16)) and torch.isfinite(m16).all()
    rel = abs(l16 - l32) / abs(l32)
    assert 1e-5 < rel < 0.06, (l32, l16)  # rounding, not identity, and not another loss
    cos = float(torch.nn.functional.cosine_similarity(m16.double(), m32.double(), dim=0))
    assert 0.8 < cos < 0.9999, cos


def test_a_bf16_run_trains_records_its_precision_and_keeps_its_own_checkpoints(corpus, tmp_path,
                                                                                caplog):
    labels = [corpus.labels_dir / f"{s}.h5" for s in ("bpm", "tag")]

    def run(precision):
        settings = TrainSettings.from_mapping(dict(epochs=3, batch_size=8, width=0.25, learning_rate=2e-3,
                                                   device="cpu", precision=precision, checkpoint_every=1))
        return train_run("r1", "mssr_fc", ["bpm", "tag"], 5, corpus.mel, corpus.split,
                         corpus.scaler, labels, settings, tmp_path, threads=1)

    model = run("bf16")
    _, meta = load_model(model)
    assert meta["precision"] == "bf16" and meta["device"] == "cpu"
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert log[["train_loss", "valid_loss"]].notna().all().all()
    for s in ("bpm", "tag"):
        v = log.loc[log["source"] == s, "valid_loss"].to_numpy()
        assert v[-1] < v[0], (s, v)
    bf16_fp = load_checkpoint(tmp_path / "checkpoint.pt")["fingerprint"]
    # the same run in float32 must not resume the finished bf16 checkpoint
    with caplog.at_level(logging.WARNING, logger="onerep.models"):
        run("fp32")
    assert any("ignoring" in r.getMessage() for r in caplog.records)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["fingerprint"] != bf16_fp
    assert load_model(model)[1]["precision"] == "fp32"


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")),
                    reason="torch.compile on the CPU needs a C++ compiler")
def test_a_compiled_training_step_equals_the_eager_step(data):
    """torch.compile (inductor, as train.compile uses it) of one training step: the same
    loss and gradients as eager mode. inductor's fallback_random draws dropout masks like
    eager mode, so the two steps are comparable. About 35 s on 2 cores (compilation)."""
    import torch._inductor.config as inductor_config

    results = []
    with inductor_config.patch(fallback_random=True):
        for compiled in (False, True):
            tr = _trainer(data, "fp32", strategy="ssr", sources=["tag"], compile=compiled)
            g = torch.Generator().manual_seed(2)
            rows = torch.randperm(data.n_train, generator=g)[:8]
            x = data.bank.crops(data.bank.random_starts(rows, 216, g), 216, channels_last=True)
            torch.manual_seed(9)
            loss = float(tr.step("tag", x, data.z_train["tag"][rows]))
            results.append((loss, _flat_moments(tr)))
            torch._dynamo.reset()
    (le, me), (lc, mc) = results
    assert lc == pytest.approx(le, rel=1e-4)
    torch.testing.assert_close(mc, me, rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------------------------
# The memory plan
# ---------------------------------------------------------------------------------
PAPER_FRAMES = 46_490 * 2_584 * 2 * 128 * 2  # the paper's corpus in float16: 61.5 GB


def test_the_paper_corpus_lives_on_an_80_gb_card_next_to_the_network():
    assert PAPER_FRAMES == 61_506_641_920
    plan = plan_placement(PAPER_FRAMES, device_free=79 * 2**30, host_free=64 * GB)
    assert plan.where == "device" and plan.copies == 1
    assert "held on the GPU" in plan.message and "a second run's copy does not fit" in plan.message
    # a small corpus: several runs' copies fit side by side
    assert plan_placement(10 * GB, device_free=79 * 2**30).copies == 5  # 84.8 // 16.4


def test_a_smaller_card_uses_pinned_host_memory_or_stops_with_the_sizes():
    plan = plan_placement(PAPER_FRAMES, device_free=39 * 2**30, host_free=128 * GB)
    assert plan.where == "host" and plan.copies == 0
    assert "do not fit in the 41.9 GB free on the GPU" in plan.message
    assert "pinned host memory" in plan.message and "copied to the GPU" in plan.message
    # the paper's training job asks for 64,000 MB: too little for the host copy on a 40 GB card
    with pytest.raises(ValueError, match=r"the 64\.0 GB of host memory available to this job "
                                         r"cannot hold them either: .*need 64\.7 GB"):
        plan_placement(PAPER_FRAMES, device_free=39 * 2**30, host_free=64 * GB)
    # placement device refuses a card that is too small, naming what it would need
    with pytest.raises(ValueError, match=r"or a GPU with at least 67\.9 GB free"):
        plan_placement(PAPER_FRAMES, device_free=39 * 2**30, placement="device")
    # placement host keeps the frames on the host even when the card could hold them
    assert plan_placement(PAPER_FRAMES, 79 * 2**30, placement="host").where == "host"


def test_the_boundary_of_the_memory_plan_is_frames_plus_reserve():
    frames = 20 * GB
    assert plan_placement(frames, frames + GPU_RESERVE_BYTES).where == "device"
    assert plan_placement(frames, frames + GPU_RESERVE_BYTES - 1).where == "host"
    cpu = plan_placement(frames, None, host_free=frames + HOST_RESERVE_BYTES["cpu"])
    assert cpu.where == "host" and "pinned" not in cpu.message
    with pytest.raises(ValueError, match="raise resources.train.mem_mb\\)"):
        plan_placement(frames, None, host_free=frames + HOST_RESERVE_BYTES["cpu"] - 1)
    with pytest.raises(ValueError, match="placement must be"):
        plan_placement(frames, None, placement="gpu")


def test_host_memory_is_the_smaller_of_available_memory_and_the_job_limit(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:   2000000 kB\n")
    cg = tmp_path / "cg"
    cg.mkdir()
    assert host_free_bytes(meminfo, cg) == 2_048_000_000  # no cgroup files: MemAvailable
    (cg / "memory.max").write_text("1500000000\n")
    (cg / "memory.current").write_text("500000000\n")
    assert host_free_bytes(meminfo, cg) == 1_000_000_000
    (cg / "memory.max").write_text("max\n")  # no limit
    assert host_free_bytes(meminfo, cg) == 2_048_000_000
