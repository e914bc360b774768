"""Write the demo world to disk: audio of every data set plus the label files in native formats.

``generate(settings, out)`` samples the latent world, renders and encodes every clip
(in parallel worker processes when asked), writes the label files, manifests and
``world.json`` into a temporary sibling folder, and renames it to ``out`` at the end,
so an interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..util import progress, remove_stale_temporaries, temp_sibling
from . import labels as L
from .arrange import RenderSpec
from .open_layouts import jamendo_path, mtt_clip_path, mtt_layout, write_jamendo, write_magnatagatune
from .styles import CORPUS_FORMATS, GENRE_STYLES, TARGET_MP3_FORMATS, FormatChoice
from .synth import render
from .world import IRMAS_CLIP_SECONDS, DemoSettings, Track, World, build_world
from .writers import (
    encode_audio,
    md5_bytes,
    render_rate,
    write_csv,
    write_fma_tracks,
    write_lastfm_tags,
    write_lines,
    write_musixmatch,
    write_track_metadata,
    write_tsv,
)

log = logging.getLogger("onerep.demo")

GTZAN_FORMAT = FormatChoice("wav", 22050, 1)
BALLROOM_FORMAT = FormatChoice("mp3", 22050, 1)
IRMAS_FORMAT = FormatChoice("wav", 44100, 2)
JAMENDO_FORMAT = FormatChoice("mp3", 22050, 1)  # like Jamendo's mono "audio-low" files
MTT_FORMAT = FormatChoice("mp3", 16000, 1)  # MagnaTagATune: mono 16 kHz
LASTFM1K_AUDIO_FRACTION = 0.92


@dataclass(frozen=True)
class AudioJob:
    """One clip to render and encode: where it goes, what it is, which window, which format."""

    rel: str  # path relative to the output folder
    spec: RenderSpec
    start: float
    duration: float
    fmt: FormatChoice


def _run_job(args: tuple[AudioJob, str]) -> tuple[str, str, int]:
    """Render, encode and write one clip; returns (rel path, md5 of the file, bytes)."""
    job, root = args
    sr = render_rate(job.fmt)
    audio = render(job.spec, job.start, job.duration, sr)
    data = encode_audio(audio, sr, job.fmt)
    path = Path(root) / job.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return job.rel, md5_bytes(data), len(data)


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def render_jobs(jobs: list[AudioJob], root: Path, workers: int = 1) -> dict[str, str]:
    """Run every job (in ``workers`` processes); returns rel path -> md5."""
    args = [(j, str(root)) for j in jobs]
    out: dict[str, str] = {}
    results: Iterator[tuple[str, str, int]]
    if workers <= 1 or len(jobs) < 4:
        results = map(_run_job, args)
        for rel, md5, _ in progress(results, "demo audio", total=len(jobs)):
            out[rel] = md5
        return out
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        results = pool.imap(_run_job, args, chunksize=4)
        for rel, md5, _ in progress(results, "demo audio", total=len(jobs)):
            out[rel] = md5
    return out


# ---------------------------------------------------------------------------
# Audio layout of each data set
# ---------------------------------------------------------------------------


def corpus_path(track_id: str, ext: str) -> str:
    """MSD-style nesting by the 3rd, 4th and 5th characters of the track id."""
    return f"corpus/audio/{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}.{ext}"


def irmas_name(t: Track, k: int) -> str:
    """``[inst][dru|nod]?[genre]NNNN__k.wav`` of the k-th clip (1-based) of an IRMAS source track."""
    genre = GENRE_STYLES[t.genre].irmas_genre
    drum = f"[{t.extra['drum_tag']}]" if t.extra.get("drum_tag") else ""
    return f"[{t.melody}]{drum}[{genre}]{t.key}__{k}.wav"


def audio_jobs(world: World) -> list[AudioJob]:
    """Every clip of every data set; also notes each track's file(s) and format in ``Track.extra``."""
    s = world.settings
    clip = s.clip_seconds
    rng = world.rng("formats")
    jobs: list[AudioJob] = []

    def add(t: Track, rel: str, fmt: FormatChoice, start: float | None = None,
            duration: float | None = None) -> None:
        jobs.append(AudioJob(rel, t.render_spec(), t.clip_start if start is None else start,
                             clip if duration is None else duration, fmt))
        t.extra.setdefault("files", []).append(rel)
        t.extra["format"] = f"{fmt.ext}/{fmt.sample_rate}/{fmt.channels}"

    def formats(choices: tuple[FormatChoice, ...], n: int) -> list[FormatChoice]:
        w = np.asarray([f.weight for f in choices])
        return [choices[int(i)] for i in rng.choice(len(choices), size=n, p=w / w.sum())]

    for t, fmt in zip(world.tracks["corpus"], formats(CORPUS_FORMATS, len(world.tracks["corpus"]))):
        add(t, corpus_path(t.key, fmt.ext), fmt)
    for t in world.tracks["gtzan"]:
        add(t, f"gtzan/genres/{t.genre}/{t.key}.wav", GTZAN_FORMAT)
    for t in world.tracks["ballroom"]:
        add(t, f"ballroom/{t.dance}/{t.key}.mp3", BALLROOM_FORMAT)
    for t in world.tracks["irmas"]:
        start = t.clip_start
        starts = []
        for k in range(1, t.extra["clips"] + 1):
            add(t, f"irmas/IRMAS-TrainingData/{t.melody}/{irmas_name(t, k)}", IRMAS_FORMAT, start,
                IRMAS_CLIP_SECONDS)
            starts.append(round(start, 3))
            start += IRMAS_CLIP_SECONDS + float(rng.uniform(0.5, 4.0))
        t.extra["clip_starts"] = starts
    for t, fmt in zip(world.tracks["fma"], formats(TARGET_MP3_FORMATS, len(world.tracks["fma"]))):
        num = f"{int(t.key):06d}"
        add(t, f"fma/fma_medium/{num[:3]}/{num}.mp3", fmt)
    for t, fmt in zip(world.tracks["emotion"], formats(TARGET_MP3_FORMATS, len(world.tracks["emotion"]))):
        add(t, f"emotion/clips_45seconds/{t.key}.mp3", fmt)
    lfm_formats = formats(TARGET_MP3_FORMATS, len(world.tracks["lastfm1k"]))
    for t, fmt in zip(world.tracks["lastfm1k"], lfm_formats):
        t.extra["audio"] = bool(rng.random() < LASTFM1K_AUDIO_FRACTION)
        if t.extra["audio"]:
            add(t, f"lastfm1k/audio/{t.key}.mp3", fmt)
    for t in world.tracks["jamendo"]:
        add(t, f"jamendo/audio/{jamendo_path(t.key)}", JAMENDO_FORMAT)
    mtt_layout(world)
    for t in world.tracks["mtt"]:
        for j, (start, end) in enumerate(t.extra["segments"]):
            rel = f"magnatagatune/{mtt_clip_path(t, j)}"
            if j in t.extra["empty"]:  # a zero-byte file, written with the label files
                t.extra.setdefault("files", []).append(rel)
            else:
                add(t, rel, MTT_FORMAT, float(start), float(end - start))
    return jobs


# ---------------------------------------------------------------------------
# Label files
# ---------------------------------------------------------------------------


def write_corpus_labels(world: World, root: Path) -> None:
    """MSD metadata, Last.fm tags, Taste Profile, musiXmatch, tempo and CDR genre files."""
    corpus = root / "corpus"
    write_track_metadata(corpus / "track_metadata.db", L.metadata_rows(world))
    tids, tags, tid_tag = L.lastfm_tags(world)
    write_lastfm_tags(corpus / "lastfm_tags.db", tids, tags, tid_tag)
    write_tsv(corpus / "train_triplets.txt", None, L.taste_triplets(world))
    vocab, rows = L.musixmatch(world)
    write_musixmatch(corpus / "mxm_dataset_train.txt", vocab, rows, len(world.tracks["corpus"]))
    write_tsv(corpus / "tempo.tsv", ("track_id", "bpm"), L.tempo_annotations(world))
    write_lines(corpus / "cdr_genre_vocabulary.txt", L.cdr_vocabulary(world))
    write_tsv(corpus / "cdr_genres.tsv", ("track_id", "genres"),
              [(tid, ",".join(paths)) for tid, paths in L.cdr_genres(world)])


def write_gtzan_split(world: World, root: Path) -> None:
    """A fault-filtered-style split of GTZAN: train/valid/test lists of ``genre/genre.000NN.wav``."""
    tracks = world.tracks["gtzan"]
    if not tracks:
        return
    rng = world.rng("labels", "gtzan_split")
    folds = L.stratified_split(rng, [t.genre for t in tracks], {"train": 0.48, "valid": 0.21, "test": 0.31})
    for fold in ("train", "valid", "test"):
        write_lines(root / "gtzan" / "split" / f"{fold}_filtered.txt",
                    [f"{t.genre}/{t.key}.wav" for t, f in zip(tracks, folds) if f == fold])
    for t, f in zip(tracks, folds):
        t.extra["split"] = f


def write_fma(world: World, root: Path) -> None:
    """``fma_metadata/tracks.csv`` (three header rows) and ``fma_metadata/genres.csv``."""
    tracks = world.tracks["fma"]
    meta = root / "fma" / "fma_metadata"
    meta.mkdir(parents=True, exist_ok=True)
    rng = world.rng("labels", "fma")
    ids = L.fma_genre_ids(world)
    splits = L.stratified_split(rng, [t.genre for t in tracks], {"training": 0.8, "validation": 0.1, "test": 0.1})
    album_ids: dict[tuple[int, str], int] = {}
    records = []
    for t, split in zip(tracks, splits):
        a = world.artists[t.artist]
        top_id, sub_id, _ = ids[t.genre]
        album_id = album_ids.setdefault((t.artist, t.album), len(album_ids) + 1)
        created = f"{2008 + int(rng.integers(0, 9))}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d} " \
                  f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
        genre_top = GENRE_STYLES[t.genre].fma_genre
        records.append({
            ("album", "date_released"): f"{t.year}-01-01 00:00:00", ("album", "id"): album_id,
            ("album", "title"): t.album, ("album", "tracks"): int(rng.integers(4, 15)), ("album", "type"): "Album",
            ("artist", "id"): t.artist + 1, ("artist", "location"): "", ("artist", "name"): a.name,
            ("set", "split"): split, ("set", "subset"): "medium",
            ("track", "bit_rate"): int(rng.choice([256000, 320000])), ("track", "date_created"): created,
            ("track", "duration"): int(t.duration), ("track", "genre_top"): genre_top,
            ("track", "genres"): f"[{sub_id}]", ("track", "genres_all"): f"[{top_id}, {sub_id}]",
            ("track", "interest"): int(rng.integers(50, 20000)), ("track", "listens"): int(rng.integers(10, 9000)),
            ("track", "number"): int(rng.integers(1, 12)), ("track", "title"): t.title,
        })
        t.extra.update({"split": split, "genre_top": genre_top})
    write_fma_tracks(meta / "tracks.csv", records, [int(t.key) for t in tracks])
    counts: dict[str, int] = {}
    for t in tracks:
        counts[t.genre] = counts.get(t.genre, 0) + 1
    rows = []
    tops: dict[int, tuple[str, int]] = {}
    for g in world.genres:
        top_id, sub_id, sub_title = ids[g]
        name = GENRE_STYLES[g].fma_genre
        n_top = tops.get(top_id, (name, 0))[1] + counts.get(g, 0)
        tops[top_id] = (name, n_top)
        rows.append((sub_id, counts.get(g, 0), top_id, sub_title, top_id))
    rows += [(tid, n, 0, name, tid) for tid, (name, n) in tops.items()]
    write_csv(meta / "genres.csv", ("genre_id", "#tracks", "parent", "title", "top_level"), sorted(rows))


def write_emotion(world: World, root: Path) -> None:
    """``annotations/static_annotations.csv`` and ``songs_info.csv`` of the MediaEval 2013 set."""
    tracks = world.tracks["emotion"]
    rng = world.rng("labels", "emotion")
    genres = [GENRE_STYLES[t.genre].emotion_genre for t in tracks]
    sets = L.stratified_split(rng, genres, {"development": 0.83, "evaluation": 0.17})
    ann, info = [], []
    for t, genre, fold in zip(tracks, genres, sets):
        ma, sa, mv, sv = L.emotion_ratings(t, rng)
        ann.append((t.key, ma, sa, mv, sv))
        start = int(rng.integers(0, 90))
        end = start + 45
        a = world.artists[t.artist]
        info.append((t.key, f"{t.key}.mp3", a.name, t.title, f"{start // 60}.{start % 60:02d}",
                     f"{end // 60}.{end % 60:02d}", genre, fold))
        t.extra.update({"split": fold, "mean_arousal": ma, "mean_valence": mv})
    write_csv(root / "emotion" / "annotations" / "static_annotations.csv",
              ("song_id", "mean_arousal", "std_arousal", "mean_valence", "std_valence"), ann)
    write_csv(root / "emotion" / "songs_info.csv",
              ("song_id", "file_name", "Artist", "Song title", "start of the segment (min.sec)",
               "end of the segment (min.sec)", "Genre", "Mediaeval 2013 set"), info)


def write_lastfm1k(world: World, root: Path, md5s: dict[str, str]) -> None:
    """Listening log, user profiles and the audio manifest of Last.fm-1K."""
    folder = root / "lastfm1k"
    folder.mkdir(parents=True, exist_ok=True)
    rows, played = L.lastfm1k_log(world)
    write_tsv(folder / "userid-timestamp-artid-artname-traid-traname.tsv", None, rows)
    profiles = [(u.id, u.profile.get("gender", ""), u.profile.get("age", ""), u.profile.get("country", ""),
                 u.profile.get("registered", "")) for u in world.lfm_users]
    write_tsv(folder / "userid-profile.tsv", ("#id", "gender", "age", "country", "registered"), profiles)
    manifest = []
    for t in world.tracks["lastfm1k"]:
        t.extra["played"] = t.key in played
        if t.extra.get("audio"):
            rel = t.extra["files"][0]
            manifest.append((t.key, str(Path(rel).relative_to("lastfm1k")), md5s[rel]))
    write_tsv(folder / "audio_manifest.tsv", ("track_id", "location", "md5"), manifest)


def write_corpus_manifest(world: World, root: Path, md5s: dict[str, str]) -> None:
    """``corpus/manifest.tsv``: track id, location relative to the manifest's folder, md5."""
    rows = []
    for t in world.tracks["corpus"]:
        rel = t.extra["files"][0]
        rows.append((t.key, str(Path(rel).relative_to("corpus")), md5s[rel]))
    write_tsv(root / "corpus" / "manifest.tsv", ("track_id", "location", "md5"), rows)


def _flat(value: Any) -> bool:
    """A scalar, or a list / dict of scalars."""
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


def _json_lines(obj: Any, indent: int = 0) -> str:
    """JSON with one line per record: containers of containers are broken over lines, and a
    record (a dict whose values are scalars or flat lists / dicts) stays on one line."""
    if not isinstance(obj, (dict, list)) or not obj or _flat(obj) or (
            isinstance(obj, dict) and all(_flat(v) for v in obj.values())):
        return json.dumps(obj, sort_keys=isinstance(obj, dict) and all(_flat(v) for v in obj.values()))
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(str(k))}: {_json_lines(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _json_lines(v, indent + 1) for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def demo_settings(settings: dict[str, Any]) -> DemoSettings:
    """``DemoSettings`` from ``{"demo": {...}}`` (the command's JSON) or from the section itself."""
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a JSON object, got {type(settings).__name__}")
    section = settings.get("demo", settings) if isinstance(settings.get("demo"), dict) else settings
    return DemoSettings.from_dict(section)


#: Top-level entries of a demo world folder.
WORLD_ENTRIES = frozenset({"world.json", "corpus", "gtzan", "ballroom", "irmas", "fma", "emotion", "lastfm1k",
                           "jamendo", "magnatagatune"})


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder that is neither empty nor (a part of) an earlier demo world."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in WORLD_ENTRIES)
    if foreign:
        raise ValueError(f"--out {out} holds {foreign[0]!r}, which is not part of a demo world; "
                         "refusing to replace that folder")


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished temporary folder to ``out`` (replacing an earlier demo world)."""
    if out.exists():
        old = temp_sibling(out, "old")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def write_corpus_label_files(settings: dict[str, Any], out: Path | str) -> World:
    """Only the learning corpus's label files (no audio, no manifest) under ``out/corpus``, and the
    world they describe: fast, for tests of the stages that read labels."""
    world = build_world(demo_settings(settings))
    write_corpus_labels(world, Path(out))
    return world


def generate(settings: dict[str, Any], out: Path | str, workers: int = 1) -> None:
    """Generate the demo world described by ``settings`` into the folder ``out``."""
    s = demo_settings(settings)
    out = Path(out)
    _check_replaceable(out)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    t_start = time.perf_counter()
    world = build_world(s)
    sizes = {ds: len(ts) for ds, ts in world.tracks.items()}
    log.info("demo world seed %d: %d genres, %d artists, %d + %d users; tracks %s", s.seed, len(world.genres),
             len(world.artists), len(world.users), len(world.lfm_users), sizes)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # what a killed generation left behind
    tmp = temp_sibling(out)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        jobs = audio_jobs(world)
        seconds = sum(j.duration for j in jobs)
        log.info("rendering %d clips (%.0f s of audio) with %d worker(s)", len(jobs), seconds, workers)
        t0 = time.perf_counter()
        md5s = render_jobs(jobs, tmp, workers)
        log.info("audio done in %.1f s", time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_corpus_labels(world, tmp)
        write_corpus_manifest(world, tmp, md5s)
        write_gtzan_split(world, tmp)
        for sub in ("gtzan", "ballroom", "irmas", "fma", "emotion", "lastfm1k"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        (tmp / "irmas" / "IRMAS-TrainingData").mkdir(exist_ok=True)
        write_fma(world, tmp)
        write_emotion(world, tmp)
        write_lastfm1k(world, tmp, md5s)
        write_jamendo(world, tmp)
        write_magnatagatune(world, tmp)
        (tmp / "world.json").write_text(_json_lines(world.summary()) + "\n", encoding="utf-8")
        log.info("label files done in %.1f s", time.perf_counter() - t0)
        _check_replaceable(out)
        _swap_into_place(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("demo world written to %s in %.1f s", out, time.perf_counter() - t_start)
