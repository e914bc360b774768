"""Declared learning sources (generic kinds, the tsv format, groupings) and the MSD preset.

Planted topics come back through each generic kind and through a grouping; the tsv
readers handle CRLF, comments and a missing weight column and name the file and line
of a bad line; the config schema and the rules accept declared sources; and the MSD
preset still gives the label files of the code before the generic sources existed."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from onerep.cli import main
from onerep.config import ConfigError, load_schema, validate
from onerep.sources import generic
from onerep.sources.catalog import check_sources, declared_sources
from onerep.sources.kinds import SourceTable
from onerep.sources.labels import make_labels
from onerep.sources.loaders import LabelFileError
from test_sources_rules import commands, dry_run, setup
from test_sources_world import INPUTS, SETTINGS, build_world

K = 4
PLSA = {"sources.k": K, "sources.plsa_iterations": 50, "sources.topic_terms": 3, "seed": 3}


def write_manifest(root: Path, ids: list[str]) -> Path:
    path = root / "manifest.tsv"
    path.write_text("track_id\tlocation\tmd5\n" + "".join(f"{t}\taudio/{t}.mp3\t\n" for t in ids))
    return path


def write_tsv(path: Path, header: str, rows: list[tuple], newline: str = "\n") -> Path:
    lines = [header] + ["\t".join(map(str, r)) for r in rows]
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def labels(root: Path, name: str, decl: dict, inputs: dict[str, Path], **settings):
    """make_labels of a source declared as ``decl`` (its files given in ``inputs``)."""
    s = {**PLSA, **settings, f"sources.declared.{name}": decl}
    return make_labels(name, root / "manifest.tsv", inputs, s, threads=1)


def ari(z: np.ndarray, truth: np.ndarray) -> float:
    return adjusted_rand_score(truth, z.argmax(1))


# --------------------------------------------------------------------------- planted topics


def planted_terms(root: Path, n: int = 160, n_outside: int = 20, seed: int = 0) -> dict:
    """Tracks of K planted topics, each term drawn from its topic's 8 terms (weights 1..5),
    a common term on a third of the tracks; some (track, term) pairs repeated."""
    rng = np.random.default_rng(seed)
    ids = [f"t{i:04d}" for i in range(n + n_outside)]
    topic = rng.integers(0, K, len(ids))
    rows = []
    for i, t in enumerate(ids):
        for j in rng.choice(8, 5, replace=False):
            rows.append((t, f"w{topic[i]}_{j}", int(rng.integers(1, 6))))
        if rng.random() < 0.3:
            rows.append((t, "common", 1))
    rows += rows[:10]  # repeated pairs are summed
    write_manifest(root, ids[:n])
    write_tsv(root / "terms.tsv", "track_id\tterm\tweight", rows)
    return {"ids": np.array(ids), "topic": topic, "n": n}


def test_terms_planted_topics_recovered(tmp_path):
    w = planted_terms(tmp_path)
    res = labels(tmp_path, "genre", {"kind": "terms", "format": "tsv", "file": "terms.tsv"},
                 {"file": tmp_path / "terms.tsv"})
    assert list(res.track_ids) == list(w["ids"][: w["n"]])  # every corpus track, manifest order
    assert res.method == "plsa" and res.z.shape == (w["n"], K)
    assert ari(res.z, w["topic"][: w["n"]]) > 0.9
    stats = json.loads(res.attrs["stats"])
    assert stats["labelled_ids"] == 180 and stats["outside_corpus"] == 20 and stats["with_labels"] == w["n"]
    # each topic's strongest terms come from one planted topic
    for _, top in res.topics.groupby("topic"):
        assert len({t.split("_")[0] for t in top.term}) == 1, top.term.tolist()
    tfidf = labels(tmp_path, "genre", {"kind": "terms", "format": "tsv", "file": "terms.tsv", "tfidf": True},
                   {"file": tmp_path / "terms.tsv"})
    assert tfidf.method == "tfidf+plsa" and ari(tfidf.z, w["topic"][: w["n"]]) > 0.9


def test_interactions_planted_tastes_recovered(tmp_path):
    rng = np.random.default_rng(1)
    n = 150
    ids = [f"t{i:04d}" for i in range(n)]
    taste = rng.integers(0, K, n)
    users = np.arange(80) % K  # each user mostly plays one taste
    rows = []
    for i, t in enumerate(ids):
        fans = rng.choice(np.flatnonzero(users == taste[i]), 6, replace=False)
        rows += [(f"u{u:03d}", t, int(rng.integers(1, 20))) for u in fans]
        rows.append((f"u{rng.integers(80):03d}", t, 1))
    write_manifest(tmp_path, ids)
    write_tsv(tmp_path / "plays.tsv", "user\ttrack_id\tcount", rows)
    res = labels(tmp_path, "listeners", {"kind": "interactions", "format": "tsv", "file": "plays.tsv"},
                 {"file": tmp_path / "plays.tsv"})
    assert res.attrs["term_kind"] == "user" and list(res.track_ids) == ids
    assert ari(res.z, taste) > 0.9


def test_values_planted_mixture_recovered_on_log_scale(tmp_path):
    rng = np.random.default_rng(2)
    n = 240
    ids = [f"t{i:04d}" for i in range(n)]
    comp = rng.integers(0, 3, n)
    value = 10.0 ** (comp + 1) * np.exp(rng.normal(0, 0.15, n))
    value[5] = 0.0  # no logarithm: a missing value
    write_manifest(tmp_path, ids)
    write_tsv(tmp_path / "listens.tsv", "track_id\tvalue", list(zip(ids, value)))
    decl = {"kind": "values", "format": "tsv", "file": "listens.tsv", "log": True}
    res = labels(tmp_path, "listens", decl, {"file": tmp_path / "listens.tsv"}, **{"sources.k": 3})
    keep = np.arange(n) != 5
    assert list(res.track_ids) == list(np.array(ids)[keep])
    assert res.method == "gmm(log2 listens)"
    assert ari(res.z, comp[keep]) > 0.9
    np.testing.assert_allclose(res.attrs["component_means"], np.log2([10, 100, 1000]), atol=0.1)
    assert json.loads(res.attrs["stats"])["missing_values"] == 1
    assert res.topics.term.iloc[0].startswith("10")  # shown in the values' unit


def test_grouping_gives_each_track_its_groups_z(tmp_path):
    """30 groups of planted topics; a track alone has 2 terms, its group many."""
    rng = np.random.default_rng(3)
    n_groups, per = 30, 6
    g_topic = np.arange(n_groups) % K
    ids = [f"t{g:02d}_{j}" for g in range(n_groups) for j in range(per)]
    group = np.repeat(np.arange(n_groups), per)
    rows = [(t, f"w{g_topic[group[i]]}_{j}", 1) for i, t in enumerate(ids) for j in rng.choice(8, 2, replace=False)]
    rows += [("outside", "w0_0", 50)]  # a track outside the corpus adds to its group's row
    write_manifest(tmp_path, ids[:-per] + [ids[-1]])  # the last group's tracks but one are not in the corpus
    write_tsv(tmp_path / "terms.tsv", "track_id\tterm\tweight", rows)
    write_tsv(tmp_path / "group.tsv", "track_id\tgroup",
              [(t, f"g{group[i]:02d}") for i, t in enumerate(ids)] + [("outside", "g01")])
    decl = {"kind": "terms", "format": "tsv", "file": "terms.tsv", "group": {"format": "tsv", "file": "group.tsv"}}
    res = labels(tmp_path, "artist_terms", decl, {"file": tmp_path / "terms.tsv", "group_file": tmp_path / "group.tsv"})
    assert len(res.track_ids) == len(ids) - per + 1
    gid = res.extra["group_id"]
    assert [f"g{int(t[1:3]):02d}" for t in res.track_ids] == list(gid)
    for g in np.unique(gid):  # one z per group
        zs = res.z[gid == g]
        assert (zs == zs[0]).all()
    firsts = np.unique(gid, return_index=True)[1]
    assert ari(res.z[firsts], g_topic) > 0.9
    assert res.attrs["n_documents"] == n_groups
    stats = json.loads(res.attrs["stats"])
    assert stats["labelled_ids"] == n_groups and len(stats["files"]) == 2


def test_grouped_values_take_the_group_mean():
    ids = np.array(["a1", "a2", "b1", "c1"])
    values = SourceTable("values", pd.DataFrame({"track_id": ["a1", "a2", "x", "b1", "c1"],
                                                 "value": [1.0, 3.0, 8.0, 5.0, 7.0]}))
    grouping = SourceTable("grouping", pd.DataFrame({"track_id": ["a1", "a2", "x", "b1"],
                                                     "group": ["A", "A", "A", "B"]}))
    data = generic.scalar_labels(values, ids, "listens", grouping)
    assert list(data.track_ids) == ["a1", "a2", "b1"]  # c1 has no group
    np.testing.assert_allclose(data.values, [4.0, 4.0, 5.0])  # x (outside the corpus) counts for A
    assert data.stats.labelled_ids == 2 and data.stats.with_labels == 3


# --------------------------------------------------------------------------- tsv readers


def test_tsv_crlf_comments_bom_and_no_weight_column(tmp_path):
    path = tmp_path / "genre.tsv"
    path.write_bytes(b"\xef\xbb\xbf# genres of the corpus\r\ntrack_id\tterm\r\n\r\n# a comment\r\n"
                     b"t1\trock\r\nt1\tindie rock\r\nt2\t caf\xc3\xa9 \r\n")
    table = generic.FORMATS["tsv"]["terms"](path, {}, "error")
    assert table.table.to_dict("list") == {"track_id": ["t1", "t1", "t2"], "term": ["rock", "indie rock", "café"],
                                           "weight": [1.0, 1.0, 1.0]}
    assert table.rows_read == 3 and table.skipped == 0 and table.files == [str(path)]
    g = write_tsv(tmp_path / "g.tsv", "track_id\tgroup", [("t1", "A"), ("t2", "B")], newline="\r\n")
    assert generic.read_grouping_tsv(g, {}, "error").table["group"].tolist() == ["A", "B"]


BAD_LINES = [
    ("terms", "track_id\tterm\tweight", "t2\trock", "expected 3 tab-separated fields"),
    ("terms", "track_id\tterm\tweight", "t2\trock\tloud", "weight 'loud' is not a positive number"),
    ("terms", "track_id\tterm\tweight", "t2\trock\t0", "weight '0' is not a positive number"),
    ("terms", "track_id\tterm", "\trock", "empty track_id"),
    ("interactions", "user\ttrack_id\tcount", "u1\tt2\t-3", "count '-3' is not a positive number"),
    ("values", "track_id\tvalue", "t2\tnan", "value 'nan' is not a finite number"),
    ("values", "track_id\tvalue", "t1\t4", "track 't1' already listed at line 2"),
    ("grouping", "track_id\tgroup", "t1\tB", "track 't1' already listed at line 2"),
]
#: A good first data line under each header.
GOOD_LINE = {"track_id\tterm\tweight": "t1\tpop\t2", "track_id\tterm": "t1\tpop", "user\ttrack_id\tcount": "u1\tt1\t2",
             "track_id\tvalue": "t1\t3.5", "track_id\tgroup": "t1\tA"}


@pytest.mark.parametrize("kind, header, bad, message", BAD_LINES)
def test_tsv_bad_line_error_names_file_and_line_or_is_skipped(tmp_path, kind, header, bad, message):
    good = GOOD_LINE[header]
    path = tmp_path / f"{kind}.tsv"
    path.write_text(f"{header}\n{good}\n# comment\n{bad}\n")
    with pytest.raises(LabelFileError, match=re.escape(f"{path}: line 4: {message}")):
        generic.read_tsv(path, kind, {}, "error")
    table = generic.read_tsv(path, kind, {}, "skip")
    assert (table.skipped, table.rows_read, len(table.table)) == (1, 2, 1)
    assert table.examples[0].startswith(f"{path}: line 4: {message}")


def test_tsv_header_and_options_are_checked(tmp_path):
    path = write_tsv(tmp_path / "v.tsv", "track\tvalue", [("t1", 1)])
    with pytest.raises(LabelFileError, match=r"v\.tsv: line 1: expected the header track_id<TAB>value"):
        generic.read_values_tsv(path, {}, "skip")  # a wrong header is an error even with skip
    (tmp_path / "empty.tsv").write_text("# nothing\n")
    with pytest.raises(LabelFileError, match="empty.tsv: no header line"):
        generic.read_values_tsv(tmp_path / "empty.tsv", {}, "error")
    with pytest.raises(ValueError, match="takes no options"):
        generic.read_values_tsv(path, {"sep": ","}, "error")


def test_skipped_lines_are_counted_in_the_label_file(tmp_path):
    planted_terms(tmp_path)
    path = tmp_path / "terms.tsv"
    path.write_text(path.read_text() + "t0001\tbroken\n" + "t0002\tw0_1\t-1\n")
    decl = {"kind": "terms", "format": "tsv", "file": "terms.tsv"}
    with pytest.raises(ValueError, match=r"terms\.tsv: line \d+: expected 3 tab-separated fields"):
        labels(tmp_path, "genre", decl, {"file": path})
    res = labels(tmp_path, "genre", decl, {"file": path}, **{"sources.on_bad_line": "skip"})
    stats = json.loads(res.attrs["stats"])
    assert stats["malformed"] == 2 and len(stats["examples"]) == 2


def test_adapters_get_their_options(tmp_path, monkeypatch):
    """A format's own option keys reach its adapters; the generic ones do not."""
    seen = {}

    def terms(path, options, on_bad_line):
        seen["terms"] = (Path(path).name, options, on_bad_line)
        return SourceTable("terms", pd.DataFrame({"track_id": ["t1", "t2"], "term": ["a", "b"], "weight": [1, 2]}),
                           files=[str(path)])

    def grouping(path, options, on_bad_line):
        seen["grouping"] = (Path(path).name, options, on_bad_line)
        return SourceTable("grouping", pd.DataFrame({"track_id": ["t1", "t2"], "group": ["A", "A"]}))

    monkeypatch.setitem(generic.FORMATS, "fake", {"terms": terms, "grouping": grouping})
    write_manifest(tmp_path, ["t1", "t2"])
    decl = {"kind": "terms", "format": "fake", "file": "x.tsv", "tfidf": True, "category": "genre",
            "group": {"file": "meta.tsv", "column": "artist"}}
    res = labels(tmp_path, "genre", decl, {"file": tmp_path / "x.tsv", "group_file": tmp_path / "meta.tsv"},
                 **{"sources.k": 2, "sources.on_bad_line": "skip"})
    assert seen == {"terms": ("x.tsv", {"category": "genre"}, "skip"),
                    "grouping": ("meta.tsv", {"column": "artist"}, "skip")}
    assert res.method == "tfidf+plsa" and list(res.extra["group_id"]) == ["A", "A"]
    monkeypatch.setitem(generic.FORMATS, "fake", {"terms": grouping})
    with pytest.raises(ValueError, match="the fake terms adapter returned 'grouping'"):
        labels(tmp_path, "genre", {**decl, "group": None}, {"file": tmp_path / "x.tsv"})


def test_register_format():
    try:
        generic.register_format("other", {"values": generic.read_values_tsv})
        assert generic.adapter("other", "values") is generic.read_values_tsv
        with pytest.raises(ValueError, match="format 'other' has no terms adapter"):
            generic.adapter("other", "terms")
        with pytest.raises(ValueError, match="unknown kinds"):
            generic.register_format("other", {"tags": generic.read_values_tsv})
    finally:
        generic.FORMATS.pop("other", None)


# --------------------------------------------------------------------------- the MSD preset

#: sha256 (first 16 hex digits) of z, track ids, topic table and extra datasets of each
#: MSD source on ``test_sources_world.build_world`` (seed 0) with its SETTINGS, one
#: thread, computed by the code before the generic sources (commit afdc52a); "canary"
#: hashes a pLSA and a GMM fit that do not involve the sources code, so that a machine
#: whose floating-point results differ skips the comparison rather than failing it.
PRESET_SHA256 = {
    "canary": "88d58ee6b1a3d704a5f7b8d1b7fc4a16",
    "tag": "ce7c987229cdfbdd",
    "artist": "bd5e6a969b679d85",
    "taste": "15c0b81e20c697a9",
    "lyrics": "f1397416f51a39b7",
    "cdr_tag": "0b92706f3a9d0708",
    "bpm": "2e3bd4c7268a848e",
    "year": "215142d0c577a2cd",
}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def _canary() -> str:
    from onerep.sources.gmm import fit_gmm
    from onerep.sources.plsa import PLSA as Model

    rng = np.random.default_rng(0)
    X = sp.random(60, 30, density=0.2, random_state=1, data_rvs=lambda n: rng.integers(1, 9, n)).tocsr()
    z = Model(n_components=4, max_iter=15, random_state=3, init="docs", n_init=2, init_iter=5,
              n_threads=1).fit_transform(X)
    g = fit_gmm(rng.normal(size=200) * 3 + np.repeat([0, 10], 100), k=3, seed=2).z
    return _sha(np.ascontiguousarray(z).tobytes()) + _sha(np.ascontiguousarray(g).tobytes())


@pytest.fixture(scope="module")
def msd_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("msd")
    build_world(root)
    return root


def test_msd_preset_is_bit_identical_to_the_code_before_generic_sources(msd_world):
    if _canary() != PRESET_SHA256["canary"]:
        pytest.skip("this machine's pLSA/GMM floating-point results differ from the recording machine's")
    got = {}
    for source, files in INPUTS.items():
        r = make_labels(source, msd_world / "manifest.tsv", {k: msd_world / v for k, v in files.items()},
                        SETTINGS, threads=1)
        parts = [r.z.tobytes(), "\n".join(r.track_ids).encode(),
                 r.topics.to_csv(sep="\t", index=False, float_format="%.6g").encode()]
        parts += ["\n".join(map(str, v)).encode() for _, v in sorted(r.extra.items())]
        got[source] = _sha(b"".join(_sha(p).encode() for p in parts))
    assert got == {s: PRESET_SHA256[s] for s in INPUTS}


def test_declared_sources_share_the_presets_reductions(msd_world, tmp_path):
    """The MSD bpm and artist sources rewritten as tsv files give the preset's z exactly
    (the same rows and, here, the same term order), tag up to the order of its terms."""
    con = sqlite3.connect(msd_world / "lastfm_tags.db")
    tags = con.execute("SELECT tids.tid, tags.tag, tid_tag.val FROM tid_tag JOIN tids ON tids.ROWID = tid_tag.tid "
                       "JOIN tags ON tags.ROWID = tid_tag.tag").fetchall()
    con.close()
    con = sqlite3.connect(msd_world / "track_metadata.db")
    artists = con.execute("SELECT track_id, artist_id FROM songs").fetchall()
    con.close()
    write_tsv(tmp_path / "tags.tsv", "track_id\tterm\tweight", tags)
    write_tsv(tmp_path / "artist.tsv", "track_id\tgroup", artists)
    tempo = (msd_world / "tempo.tsv").read_text().splitlines()[1:]
    (tmp_path / "bpm.tsv").write_text("track_id\tvalue\n" + "\n".join(tempo) + "\n")
    declared = {
        "tag": ({"kind": "terms", "format": "tsv", "file": "tags.tsv"}, {"file": "tags.tsv"}),
        "artist": ({"kind": "terms", "format": "tsv", "file": "tags.tsv", "group": {"file": "artist.tsv"}},
                   {"file": "tags.tsv", "group_file": "artist.tsv"}),
        "bpm": ({"kind": "values", "format": "tsv", "file": "bpm.tsv", "log": True}, {"file": "bpm.tsv"}),
    }
    for source, (decl, files) in declared.items():
        preset = make_labels(source, msd_world / "manifest.tsv", {k: msd_world / v for k, v in INPUTS[source].items()},
                             SETTINGS, threads=1)
        mine = make_labels(source, msd_world / "manifest.tsv", {k: tmp_path / v for k, v in files.items()},
                           {**SETTINGS, f"sources.declared.{source}": decl}, threads=1)
        assert list(mine.track_ids) == list(preset.track_ids) and mine.method == preset.method
        if source == "tag":
            np.testing.assert_allclose(mine.z, preset.z, atol=1e-6)
        else:
            assert np.array_equal(mine.z, preset.z), source
    assert json.loads(mine.attrs["declared"])["log"] is True


# --------------------------------------------------------------------------- config and rules


def _config(names: list[str], declared: dict) -> dict:
    return {"sources": {"names": names, "declared": declared}, "design": {"sources": ["self"]}}


def test_schema_accepts_declared_sources_and_rejects_unknown_kinds_formats_options():
    cfg = validate(_config(["self", "genre", "tag"], {
        "genre": {"kind": "terms", "format": "tsv", "file": "data/genre.tsv", "group": {"file": "data/artist.tsv"}},
        "tag": {"kind": "terms", "format": "tsv", "file": "data/tag.tsv"},  # replaces the preset's tag
    }))
    check_sources(cfg)
    full = declared_sources(cfg)["genre"]
    assert full["tfidf"] is False and full["log"] is False and full["group"]["format"] == "tsv"
    bad = [
        ({"kind": "tags", "format": "tsv", "file": "x"}, r"genre\.kind': 'tags' is not one of"),
        ({"kind": "terms", "format": "csv", "file": "x"}, r"genre\.format': 'csv' is not one of"),
        ({"kind": "terms", "format": "tsv", "file": "x", "tfdif": True}, r"'tfdif' is not one of"),
        ({"kind": "values", "format": "tsv", "file": "x", "tfidf": True}, r"genre\.tfidf'"),
        ({"kind": "terms", "format": "tsv", "file": "x", "log": True}, r"genre\.log'"),
        ({"kind": "terms", "format": "tsv"}, r"'file' is a required property"),
        ({"kind": "terms", "format": "tsv", "file": "x", "group": {"file": "y", "sep": ","}}, r"genre\.group'"),
    ]
    for decl, message in bad:
        with pytest.raises(ConfigError, match=message):
            validate(_config(["self", "genre"], {"genre": decl}))
    with pytest.raises(ConfigError, match=r"sources\.declared': 'self' should not be valid"):
        validate(_config(["self"], {"self": {"kind": "terms", "format": "tsv", "file": "x"}}))
    with pytest.raises(ValueError, match=r"key 'sources\.names': source 'mood' is neither built in"):
        check_sources(validate(_config(["self", "mood"], {})))


def test_schema_lists_the_registered_formats():
    assert set(load_schema()["$defs"]["source_format"]["enum"]) == set(generic.FORMATS)


def test_labels_cli_runs_a_declared_source(tmp_path, capsys):
    planted_terms(tmp_path)
    decl = {"kind": "terms", "format": "tsv", "file": str(tmp_path / "terms.tsv")}
    base = ["labels", "--source", "genre", "--manifest", str(tmp_path / "manifest.tsv"),
            "--file", str(tmp_path / "terms.tsv"), "--out", str(tmp_path / "genre.h5"),
            "--topics", str(tmp_path / "genre.topics.tsv")]
    assert main(base + ["--settings", json.dumps({**PLSA, "sources.declared.genre": decl})]) == 0
    with h5py.File(tmp_path / "genre.h5") as f:
        assert f.attrs["source"] == "genre" and f["z"].shape == (160, K)
    assert main(base + ["--settings", json.dumps(PLSA)]) == 2
    assert "settings have no 'sources.declared.genre'" in capsys.readouterr().err


DECLARED = {
    "genre": {"kind": "terms", "format": "tsv", "file": "data/genre.tsv"},
    "artist": {"kind": "terms", "format": "tsv", "file": "data/genre.tsv", "group": {"file": "data/artist.tsv"}},
    "listens": {"kind": "values", "format": "tsv", "file": "data/listens.tsv", "log": True},
}


def test_dry_run_plans_declared_sources_with_their_files_as_inputs(tmp_path, repo, env_with_venv):
    r = dry_run(setup(tmp_path, repo, ["self", "genre", "artist", "listens", "bpm"], declared=DECLARED,
                     design=("self", "genre", "bpm")), env_with_venv)
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout + r.stderr
    cmds = commands(out)
    assert {"genre", "artist", "listens", "bpm"} <= set(cmds)
    assert "--file data/genre.tsv" in cmds["genre"] and "--group-file" not in cmds["genre"]
    assert "--file data/genre.tsv --group-file data/artist.tsv" in cmds["artist"]
    assert "--tempo data/tempo.tsv" in cmds["bpm"]  # the MSD preset source beside them

    def settings(cmd: str) -> dict:
        return json.loads(re.search(r"--settings '([^']*)'", cmd).group(1))

    listens, artist = settings(cmds["listens"]), settings(cmds["artist"])
    assert "sources.gmm_max_iter" in listens and "sources.plsa_iterations" not in listens
    assert listens["sources.declared.listens"]["log"] is True
    assert artist["sources.declared.artist"]["group"] == {"file": "data/artist.tsv", "format": "tsv"}
    assert artist["sources.declared.artist"]["tfidf"] is False and "sources.plsa_iterations" in artist
    # the files are the jobs' inputs: a missing one stops the plan
    (tmp_path / "data/artist.tsv").unlink()
    r = dry_run(tmp_path, env_with_venv)
    assert r.returncode != 0 and "data/artist.tsv" in r.stdout + r.stderr


def test_dry_run_stops_on_an_undeclared_source(tmp_path, repo, env_with_venv):
    r = dry_run(setup(tmp_path, repo, ["self", "genre", "mood", "bpm"], declared=DECLARED, design=("self", "bpm")),
                env_with_venv)
    assert r.returncode != 0
    assert "source 'mood' is neither built in" in r.stderr
