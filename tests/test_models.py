"""Networks, strategies, crops, model files and the model-summary command (SPEC section 4)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from onerep import cli
from onerep.audio.store import MelStore
from onerep.models import build_network, count_parameters, load_model, save_model
from onerep.models.data import MelBank, load_run_data
from onerep.models.loop import Trainer, kl_batchmean
from onerep.models.network import MultiSourceNet
from onerep.models.settings import TrainSettings
from onerep.models.strategies import STAGES, STRATEGIES
from onerep.models.summary import PAPER_SOURCES, summary_rows
from onerep.sources.labelfile import load_labels
from support.corpus import write_synthetic_corpus

torch.set_num_threads(1)
EIGHT = list(PAPER_SOURCES)
LABELLED = [s for s in EIGHT if s != "self"]


# ---------------------------------------------------------------------------------
# Shapes and parameter counts (width 1, the paper's network)
# ---------------------------------------------------------------------------------
def test_layer_output_shapes_match_table_3():
    net = build_network("ssr", ["tag"], k=50, width=1.0, seed=0).eval()
    expected = {
        "conv1": (16, 54, 64), "conv2": (32, 27, 32), "conv3": (64, 13, 16), "conv4": (64, 6, 8),
        "conv5": (128, 3, 4), "conv6": (256, 3, 4), "conv7": (256, 3, 4), "fc": (256,),
    }
    h = torch.randn(2, 2, 216, 128)
    with torch.no_grad():
        for name, stage in net.trunk.named_children():
            h = stage(h)
            assert tuple(h.shape[1:]) == expected[name], name
        assert tuple(net(torch.randn(2, 2, 216, 128), "tag").shape) == (2, 50)
    assert list(net.trunk._modules) == list(STAGES)


def test_single_source_network_has_576482_parameters():
    assert count_parameters(build_network("ssr", ["tag"], k=50)) == 576_482
    # The self network: same trunk, Siamese head 512 -> 128 -> 2 instead of 256 -> 50.
    head = (512 * 128 + 128) + 2 * 128 + (128 * 2 + 2)
    assert count_parameters(build_network("ssr", ["self"])) == 576_482 - (256 * 50 + 50) + head


def test_parameter_ratios_with_all_eight_sources():
    ssr = count_parameters(build_network("ssr", ["bpm"]))
    ratio = {s: count_parameters(build_network(s, EIGHT)) / ssr for s in STRATEGIES if s != "ssr"}
    assert ratio["mscr6"] == pytest.approx(6.45, abs=0.01)
    assert ratio["mssr_fc"] == pytest.approx(1.25, abs=0.01)
    # MSS-CR is exactly one SS-R network per source.
    per_source = sum(count_parameters(build_network("ssr", [s])) for s in EIGHT)
    assert count_parameters(build_network("msscr", EIGHT)) == per_source
    # More sharing, fewer parameters.
    order = ["mssr_fc", "mscr6", "mscr4", "mscr2", "msscr"]
    counts = [ratio[s] for s in order]
    assert counts[0] > 1
    assert counts == sorted(counts)


def test_model_summary_cli_prints_one_row_per_strategy(capsys):
    assert cli.main(["model-summary", "--tsv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t") == ["strategy", "params", "ratio_to_ssr", "representation_size"]
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in out[1:]}
    assert list(rows) == list(STRATEGIES)
    assert rows["ssr"] == ["576482", "1.0000", "256"]
    assert float(rows["mscr6"][1]) == pytest.approx(6.45, abs=0.01)
    assert float(rows["mssr_fc"][1]) == pytest.approx(1.25, abs=0.01)
    assert rows["msscr"][2] == "2048"
    assert cli.main(["model-summary", "--sources", "bpm,tag"]) == 0
    text = capsys.readouterr().out
    assert "576,482" in text and "mscr2" in text
    assert cli.main(["model-summary", "--sources", ","]) == 2
    assert "at least one source" in capsys.readouterr().err


def test_summary_rows_for_two_sources():
    rows = {r["strategy"]: r for r in summary_rows(["self", "bpm"])}
    assert rows["mssr_fc"]["params"] == count_parameters(build_network("mssr_fc", ["self", "bpm"]))
    assert rows["mscr2"]["representation_size"] == 512
    assert rows["ssr"]["ratio_to_ssr"] == 1.0


# ---------------------------------------------------------------------------------
# One split description for all strategies
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,shared", [("mssr_fc", 8), ("mscr6", 5), ("mscr4", 3), ("mscr2", 1),
                                         ("msscr", 0)])
def test_strategies_split_where_the_paper_says(name, shared):
    net = build_network(name, ["self", "bpm", "tag"], k=8, width=0.125)
    assert list(net.trunk._modules) == list(STAGES[:shared])
    for s in ["self", "bpm", "tag"]:
        assert list(net.branches[s]._modules) == list(STAGES[shared:])
    d = net.d
    if shared == 8:
        assert net.representation == [("self+bpm+tag", 0, d)]
    else:
        assert net.representation == [("self", 0, d), ("bpm", d, 2 * d), ("tag", 2 * d, 3 * d)]


def test_embed_concatenates_branch_features_in_source_order():
    net = build_network("mscr4", ["tag", "self", "bpm"], k=8, width=0.25, seed=3)
    net.train()
    x = torch.randn(5, 2, 216, 32)
    emb = net.embed(x)
    assert net.training  # mode restored
    net.eval()
    with torch.no_grad():
        parts = [net.feature(x, s) for s in ["tag", "self", "bpm"]]
    assert emb.shape == (5, 3 * net.d)
    assert torch.equal(emb, torch.cat(parts, 1))
    assert (emb >= 0).all()  # after ReLU


def test_ssr_rejects_several_sources_and_unknown_strategy():
    with pytest.raises(ValueError, match="exactly one source"):
        build_network("ssr", ["bpm", "tag"])
    with pytest.raises(ValueError, match="unknown strategy 'msx'"):
        build_network("msx", ["bpm"])
    with pytest.raises(ValueError, match="listed twice"):
        build_network("mscr2", ["bpm", "bpm"])


def test_seeded_initialisation_is_reproducible_and_glorot():
    a = build_network("mscr2", ["bpm", "tag"], width=0.25, seed=11)
    b = build_network("mscr2", ["bpm", "tag"], width=0.25, seed=11)
    c = build_network("mscr2", ["bpm", "tag"], width=0.25, seed=12)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["branches.bpm.conv3.conv.weight"], sc["branches.bpm.conv3.conv.weight"])
    w = sa["branches.tag.conv6.conv.weight"]  # Glorot bound sqrt(6 / (fan_in + fan_out))
    fan_in, fan_out = w.shape[1] * 9, w.shape[0] * 9
    bound = (6 / (fan_in + fan_out)) ** 0.5
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    assert torch.count_nonzero(sa["branches.tag.conv6.conv.bias"]) == 0


# ---------------------------------------------------------------------------------
# Crop sampling
# ---------------------------------------------------------------------------------
def _coded_bank(lengths: list[int], n_mels: int = 4) -> MelBank:
    """A bank whose frame values encode (track, frame-in-track)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    mel = torch.zeros(offsets[-1], 2, n_mels, dtype=torch.float16)
    for t in range(len(lengths)):
        mel[offsets[t]:offsets[t + 1], 0, :] = t
        mel[offsets[t]:offsets[t + 1], 1, :] = torch.arange(lengths[t], dtype=torch.float16)[:, None]
    return MelBank(mel, offsets, [f"t{i}" for i in range(len(lengths))],
                   np.zeros(n_mels, np.float32), np.ones(n_mels, np.float32), torch.device("cpu"))


def test_crops_never_cross_a_track_boundary():
    crop = 216
    lengths = [216, 217, 300, 216, 1000, 230, 216]
    bank = _coded_bank(lengths)
    g = torch.Generator().manual_seed(0)
    rows = torch.arange(len(lengths)).repeat(300)
    starts = bank.random_starts(rows, crop, g)
    x = bank.crops(starts, crop)  # (B, 2, crop, n_mels)
    track = x[:, 0, :, 0]
    frame = x[:, 1, :, 0]
    assert torch.equal(track, rows[:, None].float().expand(-1, crop))
    # consecutive frames inside the track, all of them present
    assert torch.equal(frame[:, 1:] - frame[:, :-1], torch.ones(len(rows), crop - 1))
    lens = torch.tensor(lengths, dtype=torch.float32)[rows]
    assert (frame[:, 0] >= 0).all() and (frame[:, -1] <= lens - 1).all()
    # every admissible start of a short track is reached (uniform, not pinned to one end)
    for t in (1, 5):
        seen = set(frame[rows == t, 0].tolist())
        assert seen == set(range(lengths[t] - crop + 1))


def test_crops_are_standardised_per_band(tmp_path):
    c = write_synthetic_corpus(tmp_path, n_tracks=12, frames=240, n_mels=16, sources=["bpm"], k=4)
    data = load_run_data(c.mel, c.split, c.scaler, [c.labels_dir / "bpm.h5"], ["bpm"], 216)
    with h5py.File(c.mel) as f:
        mel = f["mel"][()].astype(np.float32)
        offsets = f["offsets"][()]
        ids = [t.decode() for t in f["track_id"][()]]
    scaler = np.load(c.scaler)
    row = 3
    i = ids.index(data.bank.track_ids[row])
    start = int(data.bank.starts[row]) + 10
    x = data.bank.crops(torch.tensor([start]), 216)[0].numpy()
    ref = (mel[offsets[i] + 10: offsets[i] + 226] - scaler["mean"]) / scaler["std"]
    np.testing.assert_allclose(x, ref.transpose(1, 0, 2), rtol=1e-5, atol=1e-5)


def test_run_data_selects_split_store_and_labels(tmp_path):
    lengths = [260] * 10 + [100]  # the last track is shorter than a crop
    c = write_synthetic_corpus(tmp_path, n_tracks=11, frames=lengths, sources=["self", "bpm", "tag"], k=4)
    # drop two tracks from tag's labels
    with h5py.File(c.labels_dir / "tag.h5", "a") as f:
        ids = f["track_id"][()][2:]
        z = f["z"][()][2:]
        del f["track_id"], f["z"]
        f["track_id"] = ids
        f["z"] = z
    data = load_run_data(c.mel, c.split, c.scaler, [c.labels_dir / "bpm.h5", c.labels_dir / "tag.h5"],
                         ["self", "bpm", "tag"], 216)
    assert data.n_train + data.n_valid == 11 - 1 - 2
    assert data.skipped["too_short"] == 1 and data.skipped["no_labels_tag"] == 2
    assert set(data.train_ids).isdisjoint(data.valid_ids)
    assert "TR00000" not in data.train_ids + data.valid_ids
    _, ztag = load_labels(c.labels_dir / "tag.h5", "tag")
    assert data.z_train["tag"].shape == (data.n_train, 4)
    assert "self" not in data.z_train
    only_bpm = load_run_data(c.mel, c.split, c.scaler, [c.labels_dir / "bpm.h5"], ["bpm"], 216)
    assert only_bpm.n_train + only_bpm.n_valid == 10
    # the frames in memory are exactly the stored frames of each selected track
    with h5py.File(c.mel) as f:
        mel, offsets = f["mel"][()], f["offsets"][()]
        ids = [t.decode() for t in f["track_id"][()]]
    bank = data.bank
    for row, t in enumerate(bank.track_ids):
        i = ids.index(t)
        got = bank.mel[int(bank.offsets[row]):int(bank.offsets[row + 1])].numpy()
        np.testing.assert_array_equal(got, mel[offsets[i]:offsets[i + 1]])


@pytest.mark.parametrize("chunk,gap", [(7, 0), (100, 10_000), (1 << 17, 1 << 14)])
def test_frames_load_exactly_whatever_the_read_blocks(tmp_path, monkeypatch, chunk, gap):
    from onerep.models import data as data_mod

    monkeypatch.setattr(data_mod, "READ_CHUNK", chunk)
    monkeypatch.setattr(data_mod, "READ_GAP", gap)
    lengths = [216, 230, 300, 217, 250, 260, 220, 240]
    c = write_synthetic_corpus(tmp_path, n_tracks=8, frames=lengths, n_mels=8, sources=["bpm"], k=4)
    index = MelStore(c.mel)
    rows = [6, 1, 2, 4, 0]  # any order, with gaps
    bank = MelBank.load(index, rows, np.zeros(8, np.float32), np.ones(8, np.float32))
    with h5py.File(c.mel) as f:
        mel = f["mel"][()]
    for j, r in enumerate(rows):
        got = bank.mel[int(bank.offsets[j]):int(bank.offsets[j + 1])].numpy()
        np.testing.assert_array_equal(got, mel[index.offsets[r]:index.offsets[r + 1]])


def test_non_finite_frames_are_named(tmp_path):
    c = write_synthetic_corpus(tmp_path, n_tracks=4, frames=220, n_mels=8, sources=["bpm"], k=4)
    with h5py.File(c.mel, "a") as f:
        f["mel"][2 * 220 + 5, 1, 3] = np.inf
    with pytest.raises(ValueError, match=r"track 'TR00002' has non-finite mel values \(frame 5\)"):
        load_run_data(c.mel, c.split, c.scaler, [c.labels_dir / "bpm.h5"], ["bpm"], 216)


def test_bad_label_row_is_named(tmp_path):
    c = write_synthetic_corpus(tmp_path, n_tracks=6, sources=["bpm"], k=4)
    with h5py.File(c.labels_dir / "bpm.h5", "a") as f:
        z = f["z"][()]
        z[4] = [0.5, 0.5, 0.5, 0.0]
        f["z"][...] = z
    with pytest.raises(ValueError, match=r"bpm\.h5: track 'TR00004' has an invalid label row"):
        load_run_data(c.mel, c.split, c.scaler, [c.labels_dir / "bpm.h5"], ["bpm"], 216)


# ---------------------------------------------------------------------------------
# Self pairs and one training step per strategy
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_tracks=24, frames=250,
                                  n_mels=32, sources=["self", "bpm", "tag"], k=6, seed=5)


def _trainer(corpus, strategy, sources, batch=8, **kw) -> Trainer:
    data = load_run_data(corpus.mel, corpus.split, corpus.scaler,
                         [corpus.labels_dir / f"{s}.h5" for s in sources if s != "self"], sources, 216)
    settings = TrainSettings.from_mapping(dict(batch_size=batch, width=0.125, **kw))
    net = build_network(strategy, sources, k=data.k, width=0.125, seed=1)
    return Trainer(net, data, settings, seed=9, device=torch.device("cpu"))


def test_self_batches_hold_exactly_half_same_track_pairs(corpus):
    tr = _trainer(corpus, "mscr2", ["self", "bpm"], batch=10)
    bank = tr.data.bank
    # replace the frames by the bank row index so that crops reveal their track
    for row in range(len(bank)):
        bank.mel[int(bank.offsets[row]):int(bank.offsets[row + 1])] = row
    bank.shift = torch.zeros_like(bank.shift)
    bank.inv_std = torch.ones_like(bank.inv_std)
    for _ in range(20):
        x, y = tr.batch("self")
        assert x.shape == (20, 2, 216, 32)
        track = x[:, 0, 0, 0].round().long()
        a, b = track[:10], track[10:]
        assert len(set(a.tolist())) == 10  # distinct tracks
        assert (a < tr.data.n_train).all() and (b < tr.data.n_train).all()
        same = y[:, 0] == 1
        assert int(same.sum()) == 5 and torch.equal(y.sum(1), torch.ones(10))
        assert torch.equal(a[same], b[same])
        assert (a[~same] != b[~same]).all()


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_one_step_lowers_the_loss_on_a_fixed_batch(corpus, strategy):
    sources = ["tag"] if strategy == "ssr" else ["self", "bpm", "tag"]
    tr = _trainer(corpus, strategy, sources, batch=12, learning_rate=1e-3)
    for source in sources:
        x, y = tr.batch(source)

        def loss(x=x, source=source, y=y) -> float:
            torch.manual_seed(0)  # same dropout masks before and after the step
            with torch.no_grad():
                return float(kl_batchmean(tr.net(x, source), y))

        before = loss()
        tr.step(source, x, y)
        after = loss()
        assert after < before, (strategy, source, before, after)


def _kl_reference(logits: np.ndarray, target: np.ndarray) -> float:
    """KL(target || softmax(logits)) summed over outputs, averaged over the batch (numpy)."""
    z = logits.astype(np.float64)
    logq = z - z.max(axis=1, keepdims=True)
    logq -= np.log(np.exp(logq).sum(axis=1, keepdims=True))
    p = target.astype(np.float64)
    terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - logq), 0.0)
    return float(terms.sum(axis=1).mean())


@pytest.fixture(scope="module")
def corpus50(tmp_path_factory):
    """A corpus whose labelled sources have the paper's k = 50 outputs."""
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus50"), n_tracks=24, frames=230,
                                  n_mels=32, sources=["self", "tag"], k=50, seed=8)


def test_loss_is_the_per_sample_kl_sum_averaged_over_the_batch(corpus50):
    """SPEC 5: 'batchmean', not the mean over all elements. The authors' element mean
    divides a 50-output loss by 50 but the 2-output self loss by 2, weighting self 25x;
    the step's loss and the validation loss must both equal the per-sample sum."""
    tr = _trainer(corpus50, "mscr2", ["self", "tag"], batch=8)
    assert tr.data.k == 50
    for source, outputs in (("tag", 50), ("self", 2)):
        x, y = tr.batch(source)
        assert y.shape[1] == outputs
        torch.manual_seed(3)  # the same dropout masks in both forward passes
        with torch.no_grad():
            logits = tr.net(x, source).float().numpy()
        expected = _kl_reference(logits, y.numpy())
        assert float(kl_batchmean(torch.from_numpy(logits), y)) == pytest.approx(expected, rel=1e-5)
        torch.manual_seed(3)
        got = float(tr.step(source, x, y))
        assert got == pytest.approx(expected, rel=1e-4), (source, got, expected)
        # an element mean would be smaller by the number of outputs
        assert got > 1.5 * expected / outputs
    # validation: the same reduction over the whole validation split (eval mode)
    tr.net.eval()
    x = tr.data.bank.crops(tr.valid_starts, tr.crop, torch.float32, channels_last=True)
    with torch.no_grad():
        logits = tr.net(x, "tag").float().numpy()
    expected = _kl_reference(logits, tr.data.z_valid["tag"].numpy())
    assert tr.validate()["tag"] == pytest.approx(expected, rel=1e-4)


def test_unused_branches_do_not_move(corpus):
    tr = _trainer(corpus, "mscr4", ["self", "bpm", "tag"], batch=8)
    before = {k: v.clone() for k, v in tr.net.state_dict().items()}
    x, y = tr.batch("bpm")
    tr.step("bpm", x, y)
    after = tr.net.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("trunk.") for k in moved)
    assert any(k.startswith("branches.bpm.") for k in moved)
    assert not any(k.startswith(("branches.tag.", "branches.self.", "heads.tag.", "heads.self."))
                   for k in moved)


# ---------------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------------
def test_model_file_round_trip(tmp_path):
    net = build_network("mscr6", ["self", "year"], k=7, width=0.125, seed=2)
    meta = {"run_id": "r7", "seed": 42, "scaler_mean": np.arange(32, dtype=np.float32),
            "scaler_std": np.ones(32, np.float32), "mel_params": {"n_mels": 32, "sample_rate": 22050}}
    save_model(tmp_path / "m.pt", net, meta)
    loaded, got = load_model(tmp_path / "m.pt")
    assert isinstance(loaded, MultiSourceNet) and not loaded.training
    assert got["strategy"] == "mscr6" and got["sources"] == ["self", "year"]
    assert got["k"] == 7 and got["width"] == 0.125 and got["run_id"] == "r7" and got["seed"] == 42
    assert got["representation"] == [("self", 0, 32), ("year", 32, 64)]
    np.testing.assert_array_equal(got["scaler_mean"], meta["scaler_mean"])
    assert got["mel_params"]["n_mels"] == 32 and "onerep_version" in got
    x = torch.randn(3, 2, 216, 32)
    assert torch.equal(loaded.embed(x), net.embed(x))


def test_load_model_rejects_other_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.pt"):
        load_model(tmp_path / "junk.pt")
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an onerep model file"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
