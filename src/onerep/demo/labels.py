"""Noisy label observations of the latent world (the companion data sets' content).

Each function observes latent factors through a noise model like the real data:
Last.fm tags with typos and personal tags, listening counts driven by taste,
lyrics bags of words from genre and mood topics, tempo annotations with octave
errors, library genres from a hierarchical vocabulary, emotion ratings with rater
noise. They return plain rows; ``writers.py`` puts them into the native formats.
Each function also notes in ``Track.extra`` what it observed (year known, number
of tags, lyrics present, listeners, tempo octave error) so that world.json tells
the truth about the labels too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from .styles import (
    COMMON_WORDS,
    COUNTRIES,
    FMA_TOP_GENRES,
    GENRE_STYLES,
    INSTRUMENT_TAGS,
    JAMENDO_GENRE_TAGS,
    JAMENDO_INSTRUMENT_TAGS,
    JAMENDO_MOODS,
    JAMENDO_THEMES,
    MOOD_TAGS,
    MOOD_WORDS,
    MTT_GENRE_TAGS,
    MTT_INSTRUMENT_TAGS,
    MTT_TAGS,
    PERSONAL_TAGS,
)
from .world import Track, User, World

# ---------------------------------------------------------------------------
# MSD track metadata
# ---------------------------------------------------------------------------

UNKNOWN_YEAR_FRACTION = 0.12


def metadata_rows(world: World) -> list[tuple[Any, ...]]:
    """Rows of the MSD ``songs`` table (year 0 when unknown) for every corpus track."""
    rng = world.rng("labels", "metadata")
    rows = []
    for t in world.tracks["corpus"]:
        a = world.artists[t.artist]
        song_id = t.extra["song_id"]
        year = 0 if rng.random() < UNKNOWN_YEAR_FRACTION else t.year
        t.extra["year_known"] = year != 0
        mbid = a.mbid if rng.random() > 0.05 else ""
        rows.append((t.key, t.title, song_id, t.album, a.id, mbid, a.name, round(t.duration, 5),
                     round(a.familiarity, 6), round(a.hotttnesss, 6), year,
                     int(rng.integers(1_000_000, 9_999_999)), 0, 0))
    return rows


# ---------------------------------------------------------------------------
# Last.fm tags
# ---------------------------------------------------------------------------

NO_TAG_FRACTION = 0.12


def _typo(rng: np.random.Generator, word: str) -> str:
    """A misspelling: two neighbouring letters swapped, one dropped or one doubled."""
    if len(word) < 3:
        return word + word[-1]
    i = int(rng.integers(0, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _decade(year: int) -> str:
    d = (year // 10) % 10
    return f"{d}0s" if year < 2000 else "00s"


def _nearby_moods(centres: dict[str, tuple[float, float]], t: Track,
                  rng: np.random.Generator) -> list[tuple[str, float]]:
    """Up to three mood tags nearest to the track's (valence, arousal), with their affinities
    (a Gaussian of the distance; those below 0.15 are left out)."""
    names = list(centres)
    aff = np.exp(-np.sum((np.asarray(list(centres.values())) - [t.valence, t.arousal]) ** 2, axis=1)
                 / (2 * 0.35**2))
    return [(names[j], float(aff[j])) for j in np.argsort(-aff)[: int(rng.integers(1, 4))] if aff[j] > 0.15]


def track_tags(t: Track, world: World, rng: np.random.Generator) -> dict[str, int]:
    """Tags of one track with their strengths (0..100, the strongest scaled to 100)."""
    st = GENRE_STYLES[t.genre]
    a = world.artists[t.artist]
    tags: dict[str, float] = {}

    def add(tag: str, value: float) -> None:
        tags[tag] = max(tags.get(tag, 0.0), value)

    add(st.tag_synonyms[0], 100.0 * rng.uniform(0.8, 1.0))
    add(a.subgenre.lower(), 70.0 * rng.uniform(0.5, 1.0))
    for syn in st.tag_synonyms[1:]:
        if rng.random() < 0.45:
            add(syn, 60.0 * rng.uniform(0.2, 1.0))
    for mood, aff in _nearby_moods(MOOD_TAGS, t, rng):
        add(mood, 80.0 * aff * rng.uniform(0.6, 1.0))
    if rng.random() < 0.7:
        add(_decade(t.year), 55.0 * rng.uniform(0.4, 1.0))
    if t.melody in INSTRUMENT_TAGS and rng.random() < 0.6:
        add(INSTRUMENT_TAGS[t.melody], 60.0 * rng.uniform(0.4, 1.0))
    if t.has_vocals and rng.random() < 0.6:
        add("female vocalists" if a.female else "male vocalists", 50.0 * rng.uniform(0.4, 1.0))
    if not t.has_vocals and rng.random() < 0.5:
        add("instrumental", 60.0 * rng.uniform(0.4, 1.0))
    if t.bpm < 80 and rng.random() < 0.4:
        add("slow", 30.0 * rng.uniform(0.4, 1.0))
    if t.bpm > 150 and rng.random() < 0.4:
        add("fast", 30.0 * rng.uniform(0.4, 1.0))
    # noise: personal tags, typos, the artist's name, a stray genre
    for _ in range(int(rng.poisson(0.6))):
        add(str(rng.choice(PERSONAL_TAGS)), 40.0 * rng.uniform(0.1, 1.0))
    if rng.random() < 0.12:
        add(_typo(rng, st.tag_synonyms[0]), 20.0 * rng.uniform(0.2, 1.0))
    if rng.random() < 0.2:
        add(a.name.lower(), 30.0 * rng.uniform(0.2, 1.0))
    if rng.random() < 0.06:
        other = GENRE_STYLES[str(rng.choice(list(GENRE_STYLES)))].tag_synonyms[0]
        add(other, 25.0 * rng.uniform(0.2, 1.0))
    # less familiar artists' tracks have fewer tags
    keep = max(2, int(round(len(tags) * (0.5 + 0.5 * a.familiarity))))
    items = sorted(tags.items(), key=lambda kv: -kv[1])[:keep]
    top = items[0][1]
    return {k: int(round(100 * v / top)) for k, v in items}


def lastfm_tags(world: World) -> tuple[list[str], list[str], list[tuple[int, int, float]]]:
    """``tids``, ``tags`` and ``tid_tag`` rows (1-based ROWIDs) of lastfm_tags.db."""
    rng = world.rng("labels", "tags")
    tids: list[str] = []
    tag_index: dict[str, int] = {}
    rows: list[tuple[int, int, float]] = []
    for t in sorted(world.tracks["corpus"], key=lambda t: t.key):
        if rng.random() < NO_TAG_FRACTION:
            t.extra["tags"] = 0
            continue
        tags = track_tags(t, world, rng)
        t.extra["tags"] = len(tags)
        tids.append(t.key)
        tid = len(tids)
        for tag, val in tags.items():
            if tag not in tag_index:
                tag_index[tag] = len(tag_index) + 1
            rows.append((tid, tag_index[tag], float(val)))
    return tids, list(tag_index), rows


# ---------------------------------------------------------------------------
# Listening (Taste Profile and Last.fm-1K)
# ---------------------------------------------------------------------------


def affinity(world: World, users: list[User], tracks: list[Track]) -> np.ndarray:
    """Users x tracks preference: taste for the genre x closeness in mood x the artist's popularity."""
    g_index = {g: i for i, g in enumerate(world.genres)}
    taste = np.stack([u.taste for u in users])  # U x G
    gi = np.asarray([g_index[t.genre] for t in tracks])
    mood_u = np.asarray([u.mood for u in users])  # U x 2
    mood_t = np.asarray([(t.valence, t.arousal) for t in tracks])  # T x 2
    d2 = ((mood_u[:, None, :] - mood_t[None, :, :]) ** 2).sum(-1)
    pop = np.asarray([world.artists[t.artist].hotttnesss for t in tracks])
    return taste[:, gi] * np.exp(-d2 / (2 * 0.5**2)) * (0.2 + pop)[None, :]


def _choose(rng: np.random.Generator, aff: np.ndarray, counts: list[int], allowed: np.ndarray) -> list[np.ndarray]:
    """Per user, ``counts[u]`` distinct tracks drawn without replacement with probability ~ affinity
    (Gumbel top-k), restricted to ``allowed``."""
    logits = np.log(np.maximum(aff, 1e-12)) + rng.gumbel(size=aff.shape)
    logits[:, ~allowed] = -np.inf
    order = np.argsort(-logits, axis=1, kind="stable")
    n_allowed = int(allowed.sum())
    return [order[u, : min(c, n_allowed)] for u, c in enumerate(counts)]


def taste_triplets(world: World) -> list[tuple[str, str, int]]:
    """Taste Profile (user, song_id, play count) triplets; some corpus tracks are never played."""
    rng = world.rng("labels", "taste")
    tracks = world.tracks["corpus"]
    aff = affinity(world, world.users, tracks)
    allowed = rng.random(len(tracks)) > 0.08
    chosen = _choose(rng, aff, [u.activity for u in world.users], allowed)
    listeners = np.zeros(len(tracks), dtype=np.int64)
    out = []
    for ui, (u, picks) in enumerate(zip(world.users, chosen)):
        row = aff[ui]
        top = row.max() or 1.0
        for j in picks.tolist():
            count = int(rng.geometric(0.45)) + int(rng.poisson(3.0 * row[j] / top))
            out.append((u.id, tracks[j].extra["song_id"], count))
            listeners[j] += 1
    for t, c in zip(tracks, listeners.tolist()):
        t.extra["listeners"] = c
    return out


def lastfm1k_log(world: World) -> tuple[list[tuple[str, ...]], set[str]]:
    """Listening events of Last.fm-1K (newest first within each user) and the track MBIDs played."""
    rng = world.rng("labels", "lastfm1k")
    tracks = world.tracks["lastfm1k"]
    users = world.lfm_users
    if not tracks or not users:
        return [], set()
    aff = affinity(world, users, tracks)
    chosen = _choose(rng, aff, [u.activity for u in users], np.ones(len(tracks), dtype=bool))
    end = dt.datetime(2009, 6, 1, tzinfo=dt.UTC)
    rows: list[tuple[str, ...]] = []
    played: set[str] = set()
    for ui, (u, picks) in enumerate(zip(users, chosen)):
        reg = dt.datetime(2005, 2, 14, tzinfo=dt.UTC) + dt.timedelta(days=int(rng.integers(0, 1200)))
        u.profile = _profile(rng, reg)
        span = (end - reg).total_seconds()
        events: list[tuple[float, Track | None, int]] = []
        row = aff[ui]
        top = row.max() or 1.0
        for j in picks.tolist():
            plays = int(rng.geometric(0.35)) + int(rng.poisson(4.0 * row[j] / top))
            for _ in range(plays):
                events.append((float(rng.uniform(0, span)), tracks[j], j))
            played.add(tracks[j].key)
        # plays of tracks that Last.fm could not match to a MusicBrainz recording (empty track id)
        for _ in range(int(rng.poisson(0.02 * len(events)) + (1 if ui % 7 == 0 else 0))):
            events.append((float(rng.uniform(0, span)), None, int(rng.integers(0, len(world.artists)))))
        events.sort(key=lambda e: -e[0])
        for when, track, j in events:
            ts = (reg + dt.timedelta(seconds=int(when))).strftime("%Y-%m-%dT%H:%M:%SZ")
            if track is None:
                artist = world.artists[j]
                rows.append((u.id, ts, artist.mbid, artist.name, "", f"{artist.name.split()[-1]} Jam"))
            else:
                artist = world.artists[track.artist]
                rows.append((u.id, ts, artist.mbid, artist.name, track.key, track.title))
    return rows, played


def _profile(rng: np.random.Generator, registered: dt.datetime) -> dict[str, str]:
    gender = "" if rng.random() < 0.1 else str(rng.choice(["m", "f"]))
    age = "" if rng.random() < 0.3 else str(int(rng.integers(16, 55)))
    country = "" if rng.random() < 0.08 else str(rng.choice(COUNTRIES))
    reg = "" if rng.random() < 0.03 else registered.strftime("%b %d, %Y")
    return {"gender": gender, "age": age, "country": country, "registered": reg}


# ---------------------------------------------------------------------------
# musiXmatch lyrics
# ---------------------------------------------------------------------------

UNMATCHED_LYRICS_FRACTION = 0.1


def lyrics_vocabulary(world: World) -> list[str]:
    """Vocabulary: function words first, then genre and mood topic words (unique, in order)."""
    words: list[str] = []
    for w in COMMON_WORDS:
        words.append(w)
    for g in GENRE_STYLES:
        words.extend(GENRE_STYLES[g].words)
    for topic in MOOD_WORDS.values():
        words.extend(topic)
    seen: set[str] = set()
    return [w for w in words if not (w in seen or seen.add(w))]


def _mood_topic(valence: float, arousal: float) -> str:
    if valence >= 0:
        return "happy" if arousal >= 0 else "calm"
    return "angry" if arousal >= 0 else "sad"


def musixmatch(world: World) -> tuple[list[str], list[tuple[str, int, list[tuple[int, int]]]]]:
    """Vocabulary and bag-of-words rows (track id, mxm id, [(1-based word index, count)]).

    Only tracks with a voice have lyrics; a fraction of them is not matched."""
    rng = world.rng("labels", "lyrics")
    vocab = lyrics_vocabulary(world)
    index = {w: i for i, w in enumerate(vocab)}
    common = np.asarray([index[w] for w in COMMON_WORDS])
    zipf = 1.0 / np.arange(1, len(common) + 1)
    zipf /= zipf.sum()
    rows = []
    mxm_ids = rng.choice(np.arange(1_000_000, 9_999_999), size=len(world.tracks["corpus"]), replace=False)
    for t, mxm in zip(sorted(world.tracks["corpus"], key=lambda t: t.key), mxm_ids):
        t.extra["lyrics"] = False
        if not t.has_vocals or rng.random() < UNMATCHED_LYRICS_FRACTION:
            continue
        genre_words = np.asarray([index[w] for w in GENRE_STYLES[t.genre].words])
        mood_words = np.asarray([index[w] for w in MOOD_WORDS[_mood_topic(t.valence, t.arousal)]])
        n = int(rng.integers(60, 260))
        parts = rng.multinomial(n, [0.55, 0.25, 0.15, 0.05])
        counts = np.zeros(len(vocab), dtype=np.int64)
        np.add.at(counts, rng.choice(common, parts[0], p=zipf), 1)
        np.add.at(counts, rng.choice(genre_words, parts[1]), 1)
        np.add.at(counts, rng.choice(mood_words, parts[2]), 1)
        np.add.at(counts, rng.integers(0, len(vocab), parts[3]), 1)
        nz = np.nonzero(counts)[0]
        rows.append((t.key, int(mxm), [(int(i) + 1, int(counts[i])) for i in nz]))
        t.extra["lyrics"] = True
    return vocab, rows


# ---------------------------------------------------------------------------
# Tempo, CDR genres
# ---------------------------------------------------------------------------

OCTAVE_ERROR_FRACTION = 0.08


def tempo_annotations(world: World) -> list[tuple[str, float]]:
    """(track id, annotated BPM): the true tempo with small noise and some octave errors."""
    rng = world.rng("labels", "tempo")
    out = []
    for t in world.tracks["corpus"]:
        bpm = t.bpm * (1 + rng.normal(0, 0.006))
        factor = 1.0
        if rng.random() < OCTAVE_ERROR_FRACTION:
            factor = 2.0 if t.bpm < 110 else 0.5
        t.extra["tempo_octave_error"] = factor
        out.append((t.key, round(bpm * factor, 3)))
    return out


RELATED_GENRES = {"rock": "metal", "metal": "rock", "blues": "jazz", "jazz": "blues", "disco": "pop",
                  "pop": "disco", "hiphop": "reggae", "reggae": "hiphop", "country": "rock", "classical": "jazz"}


def cdr_vocabulary(world: World) -> list[str]:
    """Hierarchical genre paths (parents and ``Parent/Child``) of the world's genres."""
    paths: list[str] = []
    for g in GENRE_STYLES:
        st = GENRE_STYLES[g]
        if st.cdr_parent not in paths:
            paths.append(st.cdr_parent)
        paths.extend(f"{st.cdr_parent}/{c}" for c in st.subgenres)
    return sorted(set(paths))


def cdr_genres(world: World) -> list[tuple[str, list[str]]]:
    """(track id, genre paths); a tenth of the corpus is not in the library."""
    rng = world.rng("labels", "cdr")
    out = []
    for t in world.tracks["corpus"]:
        if rng.random() < 0.1:
            continue
        st = GENRE_STYLES[t.genre]
        a = world.artists[t.artist]
        paths = [f"{st.cdr_parent}/{a.subgenre}"]
        if rng.random() < 0.35:
            other = str(rng.choice(st.subgenres))
            paths.append(f"{st.cdr_parent}/{other}")
        if rng.random() < 0.15:
            paths.append(st.cdr_parent)
        if rng.random() < 0.08:
            rel = GENRE_STYLES[RELATED_GENRES[t.genre]]
            paths.append(f"{rel.cdr_parent}/{rng.choice(rel.subgenres)}")
        seen: set[str] = set()
        out.append((t.key, [p for p in paths if not (p in seen or seen.add(p))]))
    return out


# ---------------------------------------------------------------------------
# Target-set labels
# ---------------------------------------------------------------------------


def emotion_ratings(t: Track, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """Mean and spread of the 1-9 arousal and valence ratings of a song (rater noise)."""
    mean_a = float(np.clip(5 + 2.7 * t.arousal + rng.normal(0, 0.45), 1, 9))
    mean_v = float(np.clip(5 + 2.7 * t.valence + rng.normal(0, 0.45), 1, 9))
    return round(mean_a, 2), round(float(rng.uniform(0.6, 1.8)), 2), round(mean_v, 2), round(
        float(rng.uniform(0.6, 1.8)), 2)


def stratified_split(rng: np.random.Generator, groups: list[str], fractions: dict[str, float]) -> list[str]:
    """Assign a split name to each item, stratified by ``groups`` (each split gets its share of each
    group; the last split takes the rest, the first split at least one item)."""
    names = list(fractions)
    out = [""] * len(groups)
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    for g in sorted(by_group):
        items = list(rng.permutation(by_group[g]))
        n = len(items)
        counts = [int(round(fractions[s] * n)) for s in names[1:]]
        while sum(counts) > n - 1 and any(counts):
            j = int(np.argmax(counts))
            counts[j] -= 1
        first = n - sum(counts)
        pos = 0
        for s, c in zip(names, [first, *counts]):
            for i in items[pos: pos + c]:
                out[int(i)] = s
            pos += c
    return out


FMA_SUBGENRE_BASE = 1000


def fma_genre_ids(world: World) -> dict[str, tuple[int, int, str]]:
    """Per world genre: (top-genre id, sub-genre id, sub-genre title) in the FMA taxonomy."""
    out = {}
    for i, g in enumerate(world.genres):
        st = GENRE_STYLES[g]
        out[g] = (FMA_TOP_GENRES[st.fma_genre], FMA_SUBGENRE_BASE + i, st.subgenres[0])
    return out


def artist_disjoint_split(rng: np.random.Generator, artists: list[int],
                          fractions: dict[str, float]) -> list[str]:
    """Assign a split name to each item so that no artist spans two splits and each split's share
    of the items is near its fraction (artists largest first, each to the split furthest below its
    target); every split gets at least one artist when there are enough artists."""
    names = list(fractions)
    counts: dict[int, int] = {}
    for a in artists:
        counts[a] = counts.get(a, 0) + 1
    order = sorted((int(a) for a in rng.permutation(sorted(counts))), key=lambda a: -counts[a])
    target = {s: fractions[s] / sum(fractions.values()) * len(artists) for s in names}
    got = dict.fromkeys(names, 0)
    members: dict[str, list[int]] = {s: [] for s in names}
    for a in order:
        part = max(names, key=lambda s: target[s] - got[s])
        members[part].append(a)
        got[part] += counts[a]
    for part in names:
        donor = max(names, key=lambda s: len(members[s]))
        if not members[part] and len(members[donor]) > 1:
            members[part].append(members[donor].pop())  # the donor's smallest artist
    where = {a: s for s, group in members.items() for a in group}
    return [where[a] for a in artists]


# ---------------------------------------------------------------------------
# MTG-Jamendo and MagnaTagATune tags
# ---------------------------------------------------------------------------


def jamendo_tags(t: Track, rng: np.random.Generator) -> list[str]:
    """Sorted ``category---tag`` tags of one Jamendo track: its genre, instruments and mood as an
    uploader names them (true tags often missing, a stray genre or an unrelated theme added)."""
    tags: set[str] = set()
    main, *related = JAMENDO_GENRE_TAGS[t.genre]
    if rng.random() < 0.95:
        tags.add(f"genre---{main}")
    tags.update(f"genre---{g}" for g in related if rng.random() < 0.3)
    if rng.random() < 0.05:
        tags.add(f"genre---{JAMENDO_GENRE_TAGS[str(rng.choice(list(JAMENDO_GENRE_TAGS)))][0]}")
    heard = t.instruments
    tags.update(f"instrument---{JAMENDO_INSTRUMENT_TAGS[i]}" for k, i in enumerate(heard)
                if rng.random() < (0.6 if k == 0 else 0.3))
    more = (("drums", t.drums is not None, 0.3), (JAMENDO_INSTRUMENT_TAGS[t.bass_inst], True, 0.2),
             ("guitar", bool({"gac", "gel"} & set(heard)), 0.25), ("strings", bool({"vio", "cel"} & set(heard)), 0.2))
    tags.update(f"instrument---{name}" for name, present, p in more if present and rng.random() < p)
    tags.update(f"mood/theme---{m}" for m, _ in _nearby_moods(JAMENDO_MOODS, t, rng) if rng.random() < 0.6)
    if (t.bpm > 150 or t.bpm < 80) and rng.random() < 0.3:
        tags.add("mood/theme---fast" if t.bpm > 150 else "mood/theme---slow")
    if rng.random() < 0.12:
        tags.add(f"mood/theme---{rng.choice(JAMENDO_THEMES)}")
    return sorted(tags or {f"genre---{main}"})


MTT_STRAY_TAG = 0.004  # chance of any tag on any segment (players' mistakes)


def mtt_tag_probabilities(t: Track) -> dict[str, float]:
    """Chance that TagATune players give a segment of ``t`` each MagnaTagATune tag: players name a
    few salient things, so even true tags are often missing, and near-synonyms split the votes."""
    p: dict[str, float] = {}

    def on(prob: float, tags: tuple[str, ...]) -> None:
        for tag in tags:
            p[tag] = max(p.get(tag, 0.0), prob)

    def pair(probs: tuple[float, float], tags: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        on(probs[0], tags[0])
        on(probs[1], tags[1])

    pair((0.6, 0.2), MTT_GENRE_TAGS[t.genre])
    for k, inst in enumerate(i for i in t.instruments if i in MTT_INSTRUMENT_TAGS):
        pair((0.55, 0.2) if k == 0 else (0.25, 0.08), MTT_INSTRUMENT_TAGS[inst])
    if t.drums:
        pair((0.35, 0.15), (("drums", "beat"), ("drum", "percussion")))
    else:
        on(0.15, ("no drums", "no beat"))
    if t.bass_inst in ("fmbass", "b808"):
        pair((0.3, 0.1), (("synth",), ("synthesizer",)))
    if t.has_vocals:
        pair((0.4, 0.2), (("vocal", "singing"), ("vocals", "voice", "singer")))
        pair((0.4, 0.2), (("female", "woman", "female vocal"), ("female voice", "female singing")) if t.female
             else (("male", "man", "male vocal"), ("male voice", "male singer", "man singing")))
        if t.genre == "classical":
            pair((0.5, 0.2), (("opera", "choir"), ("choral",)))
    else:
        pair((0.35, 0.2), (("no vocals", "instrumental"), ("no vocal", "no voice", "no singing", "no voices")))
    rules = (
        (t.bpm > 140, 0.45, "fast"), (t.bpm > 150 and t.drums is not None, 0.15, "fast beat"),
        (t.bpm < 85, 0.45, "slow"), (t.loudness_db > -17, 0.4, "loud"), (t.loudness_db < -27, 0.4, "quiet"),
        (t.arousal < -0.3, 0.35, "soft"), (t.arousal < -0.3, 0.35, "calm"),
        (t.arousal < -0.4 and t.drums is None, 0.3, "ambient"),
        (t.arousal < -0.4 and t.valence > 0 and t.drums is None, 0.2, "new age"),
        (t.valence > 0.4, 0.3, "happy"), (t.valence > 0.3 and t.arousal > 0.3, 0.3, "upbeat"),
        (t.valence < -0.4, 0.3, "sad"), (t.valence < -0.3 and t.arousal > 0.2, 0.3, "dark"),
        (t.pad is None and t.drums is None, 0.3, "solo"), (t.genre != "classical", 0.04, "not classical"),
        (t.genre not in ("rock", "metal"), 0.04, "not rock"),
    )
    for holds, prob, tag in rules:
        if holds:
            on(prob, (tag,))
    on(0.03, ("weird", "strange", "different"))
    return p


def mtt_annotations(world: World) -> list[list[int]]:
    """0/1 rows over ``MTT_TAGS``, one per segment of every MagnaTagATune song in order (each
    segment is tagged by other players, so segments of one song differ)."""
    rng = world.rng("labels", "mtt")
    index = {tag: i for i, tag in enumerate(MTT_TAGS)}
    rows = []
    for t in world.tracks["mtt"]:
        prob = np.full(len(MTT_TAGS), MTT_STRAY_TAG)
        for tag, p in mtt_tag_probabilities(t).items():
            prob[index[tag]] = max(p, MTT_STRAY_TAG)
        seg = (rng.random((len(t.extra["segments"]), len(MTT_TAGS))) < prob).astype(int)
        t.extra["tags_per_clip"] = seg.sum(1).tolist()
        rows += seg.tolist()
    return rows
