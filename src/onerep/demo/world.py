"""The latent model of the demo world: genres, artists, tracks of every data set, and users.

Nothing here touches audio or files. ``build_world(settings)`` samples every latent
factor from seeded random streams (one stream per part, so that changing the size of
one data set leaves the others unchanged). The renderer turns a ``Track`` into a
``RenderSpec`` (``Track.render_spec()``); the label models in ``labels.py`` observe
the same factors with noise.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..util import derive_seed
from .arrange import RenderSpec
from .styles import (
    BAND_WORDS,
    CHORDAL,
    DANCES,
    DRUM_PATTERNS,
    ERA_BOUNDS,
    FIRST_NAMES,
    FMA_GENRE_SHARE,
    GENRE_STYLES,
    GTZAN_GENRES,
    INSTRUMENT_NAMES,
    IRMAS_INSTRUMENTS,
    IRMAS_SHARE,
    KEY_NAMES,
    NAME_SYLLABLES,
    TITLE_WORDS,
)

MIN_CLIP_SECONDS = 2.6
IRMAS_CLIP_SECONDS = 3.0
SETTING_KEYS = ("seed", "clip_seconds", "n_genres", "n_artists", "n_users", "corpus_tracks", "gtzan_per_genre",
                "ballroom_tracks", "irmas_clips", "fma_tracks", "emotion_tracks", "lastfm1k_tracks",
                "lastfm1k_users", "jamendo_tracks", "mtt_clips")
IGNORED_KEYS = ("enabled", "out")
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSettings:
    """Sizes and seed of the demo world (the config's ``demo`` section)."""

    seed: int = 1234
    clip_seconds: float = 10.0
    n_genres: int = 10
    n_artists: int = 80
    n_users: int = 300
    corpus_tracks: int = 800
    gtzan_per_genre: int = 20
    ballroom_tracks: int = 150
    irmas_clips: int = 240
    fma_tracks: int = 300
    emotion_tracks: int = 120
    lastfm1k_tracks: int = 300
    lastfm1k_users: int = 100
    jamendo_tracks: int = 200
    mtt_clips: int = 200

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DemoSettings:
        """Validated settings from a ``demo`` dict (missing keys take the schema defaults)."""
        if not isinstance(raw, dict):
            raise ValueError(f"demo settings must be a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(SETTING_KEYS) - set(IGNORED_KEYS))
        if unknown:
            raise ValueError(f"unknown demo setting(s): {', '.join(unknown)}; allowed: {', '.join(SETTING_KEYS)}")
        values: dict[str, Any] = {}
        for key in SETTING_KEYS:
            default = getattr(cls, key)
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"demo.{key} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(default, bool):
                if float(value) != int(value):
                    raise ValueError(f"demo.{key} must be an integer, got {value!r}")
                value = int(value)
                if value < 0:
                    raise ValueError(f"demo.{key} must be >= 0, got {value}")
            else:
                value = float(value)
            values[key] = value
        s = cls(**values)
        if not 2 <= s.n_genres <= len(GTZAN_GENRES):
            raise ValueError(f"demo.n_genres must be between 2 and {len(GTZAN_GENRES)}, got {s.n_genres}")
        if s.n_artists < s.n_genres:
            raise ValueError(f"demo.n_artists ({s.n_artists}) must be at least demo.n_genres ({s.n_genres}) "
                             "so that every genre has an artist")
        if not MIN_CLIP_SECONDS <= s.clip_seconds <= 120:
            raise ValueError(f"demo.clip_seconds must be between {MIN_CLIP_SECONDS} and 120 s "
                             f"(a network crop needs 2.5 s), got {s.clip_seconds}")
        if s.corpus_tracks < 10:
            raise ValueError(f"demo.corpus_tracks must be at least 10, got {s.corpus_tracks}")
        if s.n_users < 2:
            raise ValueError(f"demo.n_users must be at least 2, got {s.n_users}")
        if s.lastfm1k_tracks and s.lastfm1k_users < 2:
            raise ValueError("demo.lastfm1k_users must be at least 2 when demo.lastfm1k_tracks > 0")
        if s.jamendo_tracks and (s.jamendo_tracks < 3 or s.n_artists < 3):
            raise ValueError("demo.jamendo_tracks must be 0 or at least 3, with demo.n_artists >= 3 "
                             f"(three artist-disjoint parts), got {s.jamendo_tracks} tracks, {s.n_artists} artists")
        return s


# ---------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------


@dataclass
class Artist:
    """An artist: genre, era, tempo range, instrument palette, preferred keys, mood."""

    id: str  # AR + 16
    mbid: str
    name: str
    genre: str
    subgenre: str
    era: int
    tempo: tuple[float, float]
    palette: tuple[str, ...]  # instruments, the first is the signature instrument
    keys: tuple[int, ...]
    major_bias: float
    mood: tuple[float, float]  # (valence, arousal)
    familiarity: float
    hotttnesss: float
    female: bool
    albums: tuple[str, ...]
    country: str = ""


@dataclass
class Track:
    """One track (or IRMAS source track) with all its latent factors."""

    dataset: str
    key: str  # the data set's own id (MSD track id, GTZAN file stem, FMA id, ...)
    artist: int  # index into World.artists
    genre: str
    title: str
    album: str
    year: int
    bpm: float
    meter: int
    tonic: int
    mode: str
    scale: str
    progression: tuple[tuple[int, str], ...]
    melody: str  # predominant instrument
    comp: str | None
    pad: str | None
    valence: float
    arousal: float
    density: float
    loudness_db: float
    duration: float  # length of the whole song (s); clips are excerpts
    clip_start: float
    drums: str | None
    comp_style: str
    bass_style: str
    bass_inst: str
    distortion: float
    reverb: tuple[float, float]
    female: bool
    focus: bool
    seed: int
    dance: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def instruments(self) -> tuple[str, ...]:
        """The instruments heard in the track (predominant first)."""
        return tuple(i for i in (self.melody, self.comp, self.pad) if i)

    @property
    def has_vocals(self) -> bool:
        """Whether a voice is heard (instrumental tracks have no lyrics)."""
        return "voi" in self.instruments

    def render_spec(self) -> RenderSpec:
        """What the renderer needs (a pure function of the latent factors)."""
        return RenderSpec(
            genre=self.genre, bpm=self.bpm, meter=self.meter, tonic=self.tonic, mode=self.mode,
            scale=self.scale, progression=self.progression, drums=self.drums, comp=self.comp_style,
            bass=self.bass_style, bass_inst=self.bass_inst, melody=self.melody, comp_inst=self.comp,
            pad_inst=self.pad, density=self.density, valence=self.valence, arousal=self.arousal,
            loudness_db=self.loudness_db, year=self.year, distortion=self.distortion, reverb=self.reverb,
            female=self.female, focus=self.focus, seed=self.seed,
        )

    def summary(self) -> dict[str, Any]:
        """Compact record of the latent factors for world.json."""
        out = {
            "artist": self.artist, "genre": self.genre, "year": self.year, "bpm": round(self.bpm, 3),
            "meter": self.meter, "key": KEY_NAMES[self.tonic], "mode": self.mode,
            "instruments": list(self.instruments), "predominant": self.melody, "has_vocals": self.has_vocals,
            "valence": round(self.valence, 4), "arousal": round(self.arousal, 4),
            "density": round(self.density, 3), "loudness_db": round(self.loudness_db, 2),
            "drums": self.drums is not None, "clip_start": round(self.clip_start, 3), "seed": self.seed,
        }
        if self.dance:
            out["dance"] = self.dance
        out.update(self.extra)
        return out


@dataclass
class User:
    """A listener: taste over genres, preferred mood, activity."""

    id: str
    taste: np.ndarray  # over World.genres, sums to 1
    mood: tuple[float, float]
    activity: int  # number of distinct tracks played
    profile: dict[str, Any] = field(default_factory=dict)

    def summary(self, genres: list[str]) -> dict[str, Any]:
        out = {"id": self.id, "taste": {g: round(float(p), 4) for g, p in zip(genres, self.taste)},
               "mood": [round(self.mood[0], 3), round(self.mood[1], 3)], "activity": self.activity}
        out.update(self.profile)
        return out


@dataclass
class World:
    """The whole latent world."""

    settings: DemoSettings
    genres: list[str]
    artists: list[Artist]
    tracks: dict[str, list[Track]]  # dataset -> tracks
    users: list[User]  # Taste Profile listeners (corpus)
    lfm_users: list[User]  # Last.fm-1K listeners

    def rng(self, *parts: object) -> np.random.Generator:
        """A random stream of this world for the given purpose."""
        return np.random.default_rng(derive_seed(self.settings.seed, "demo", *parts))

    def summary(self) -> dict[str, Any]:
        """world.json content: the latent truth of every entity."""
        return {
            "generator": "onerep.demo",
            "format_version": 1,
            "seed": self.settings.seed,
            "settings": asdict(self.settings),
            "genres": [{
                "name": g, "tempo": list(GENRE_STYLES[g].tempo), "era": list(GENRE_STYLES[g].era),
                "mood": list(GENRE_STYLES[g].mood), "palette": list(GENRE_STYLES[g].palette),
                "drums": GENRE_STYLES[g].drums,
            } for g in self.genres],
            "dances": {d: {"tempo": list(s.tempo), "meter": DRUM_PATTERNS[d].meter} for d, s in DANCES.items()},
            "instrument_names": dict(INSTRUMENT_NAMES),
            "artists": [{
                "index": i, "id": a.id, "mbid": a.mbid, "name": a.name, "genre": a.genre, "subgenre": a.subgenre,
                "era": a.era, "tempo": [round(a.tempo[0], 2), round(a.tempo[1], 2)],
                "instruments": list(a.palette), "keys": [KEY_NAMES[k] for k in a.keys],
                "mood": [round(a.mood[0], 3), round(a.mood[1], 3)], "female": a.female,
                "familiarity": round(a.familiarity, 4), "hotttnesss": round(a.hotttnesss, 4),
            } for i, a in enumerate(self.artists)],
            "tracks": {ds: {t.key: t.summary() for t in tracks} for ds, tracks in self.tracks.items()},
            "users": {
                "taste_profile": [u.summary(self.genres) for u in self.users],
                "lastfm1k": [u.summary(self.genres) for u in self.lfm_users],
            },
        }


# ---------------------------------------------------------------------------
# Names and identifiers
# ---------------------------------------------------------------------------


def random_id(rng: np.random.Generator, prefix: str, taken: set[str], letters_first: int = 0) -> str:
    """``prefix`` + 16 uppercase alphanumerics (MSD style), unique within ``taken``."""
    while True:
        head = "".join(ID_CHARS[i] for i in rng.integers(0, 26, letters_first))
        tail = "".join(ID_CHARS[i] for i in rng.integers(0, len(ID_CHARS), 16 - letters_first))
        out = prefix + head + tail
        if out not in taken:
            taken.add(out)
            return out


def random_mbid(rng: np.random.Generator) -> str:
    """A MusicBrainz-style identifier (a random UUID drawn from ``rng``)."""
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _word(rng: np.random.Generator, n: int) -> str:
    return "".join(NAME_SYLLABLES[i] for i in rng.integers(0, len(NAME_SYLLABLES), n)).capitalize()


def artist_name(rng: np.random.Generator, genre: str, taken: set[str]) -> str:
    """A made-up artist name in a style that suits the genre."""
    for _ in range(1000):
        r = rng.random()
        if genre in ("hiphop", "disco") and r < 0.45:
            name = f"{rng.choice(['MC', 'DJ', 'Lil', 'Big'])} {_word(rng, 2)}"
        elif genre == "classical" and r < 0.7:
            name = f"{rng.choice(FIRST_NAMES)} {_word(rng, 3)}"
            if rng.random() < 0.3:
                name += f" {rng.choice(['Quartet', 'Ensemble', 'Trio', 'Orchestra'])}"
        elif r < 0.5:
            name = f"The {rng.choice(BAND_WORDS)} {rng.choice(BAND_WORDS)}"
        else:
            name = f"{rng.choice(FIRST_NAMES)} {_word(rng, 2)}"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("could not find a unique artist name")  # pragma: no cover


def song_title(rng: np.random.Generator, genre: str) -> str:
    """A made-up song title using the genre's lyric words."""
    words = GENRE_STYLES[genre].words
    a = str(rng.choice(TITLE_WORDS))
    b = str(rng.choice(words)).capitalize()
    form = rng.integers(0, 5)
    if form == 0:
        return f"{a} {b}"
    if form == 1:
        return f"{b} of the {a}"
    if form == 2:
        return f"{a}"
    if form == 3:
        return f"{b} {a} ({rng.choice(['Live', 'Remix', 'Demo', 'Edit'])})" if rng.random() < 0.3 else f"{b} {a}"
    return f"My {a} {b}"


# ---------------------------------------------------------------------------
# Sampling the world
# ---------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _weighted(rng: np.random.Generator, items: list[str], weights: list[float]) -> str:
    w = np.asarray(weights, dtype=float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def _allocate(total: int, shares: dict[str, float], minimum: int = 0) -> dict[str, int]:
    """Split ``total`` over the keys of ``shares`` (largest remainder), each at least ``minimum``
    where the total allows it."""
    keys = list(shares)
    base = min(minimum, total // max(1, len(keys)))
    rest = total - base * len(keys)
    w = np.asarray([shares[k] for k in keys], dtype=float)
    raw = w / w.sum() * rest
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: rest - counts.sum()]] += 1
    return {k: int(c) + base for k, c in zip(keys, counts)}


def make_artists(s: DemoSettings, genres: list[str], rng: np.random.Generator) -> list[Artist]:
    """The world's artists: every genre has at least one."""
    weights = np.asarray([GENRE_STYLES[g].weight for g in genres])
    assign = list(genres) + [genres[i] for i in rng.choice(len(genres), s.n_artists - len(genres),
                                                             p=weights / weights.sum())]
    taken_ids: set[str] = set()
    taken_names: set[str] = set()
    album_kinds = ["Sessions", "Nights", "Songs", "Stories", "Live", "Vol. 2", "Days", "Dreams"]
    artists = []
    for genre in assign:
        st = GENRE_STYLES[genre]
        lo, hi = st.tempo
        centre = rng.uniform(lo, hi)
        half = (hi - lo) * rng.uniform(0.12, 0.25)
        tempo = (max(lo, centre - half), min(hi, centre + half))
        pal_items = list(st.palette)
        n_inst = min(len(pal_items), int(rng.integers(3, 6)))
        w = np.asarray([st.palette[i] for i in pal_items])
        palette = tuple(pal_items[i] for i in rng.choice(len(pal_items), n_inst, replace=False, p=w / w.sum()))
        keys = tuple(int(k) for k in rng.choice(st.keys, size=min(3, len(st.keys)), replace=False))
        mood = (float(np.clip(st.mood[0] + rng.normal(0, 0.25), -1, 1)),
                float(np.clip(st.mood[1] + rng.normal(0, 0.25), -1, 1)))
        fam = float(rng.beta(2.5, 2.0))
        era = int(rng.integers(st.era[0], st.era[1] + 1))
        name = artist_name(rng, genre, taken_names)
        albums = tuple(f"{rng.choice(TITLE_WORDS)} {rng.choice(album_kinds)}"
                       for _ in range(int(rng.integers(1, 4))))
        artists.append(Artist(
            id=random_id(rng, "AR", taken_ids), mbid=random_mbid(rng), name=name, genre=genre,
            subgenre=str(rng.choice(st.subgenres)), era=era, tempo=tempo, palette=palette, keys=keys,
            major_bias=float(rng.normal(0, 0.5)), mood=mood, familiarity=fam,
            hotttnesss=float(np.clip(0.6 * fam + rng.normal(0.15, 0.1), 0, 1)),
            female=bool(rng.random() < 0.45), albums=albums,
        ))
    return artists


def make_track(world_seed: int, artist: Artist, index: int, rng: np.random.Generator, dataset: str, key: str,
               *, dance: str | None = None, predominant: str | None = None, drums: bool | None = None,
               focus: bool = False) -> Track:
    """Sample one track of ``artist`` (``dance`` / ``predominant`` override the style)."""
    st = GENRE_STYLES[artist.genre]
    harmony = GENRE_STYLES[DANCES[dance].genre] if dance else st
    year = int(np.clip(round(artist.era + rng.normal(0, 4)), *ERA_BOUNDS))
    valence = float(np.clip(artist.mood[0] + rng.normal(0, 0.3), -1, 1))
    arousal = float(np.clip(artist.mood[1] + rng.normal(0, 0.3), -1, 1))
    if dance:
        lo, hi = DANCES[dance].tempo
        bpm = float(rng.uniform(lo, hi))
        meter = DRUM_PATTERNS[dance].meter
        major_bias = DANCES[dance].major_bias
    else:
        lo, hi = artist.tempo
        u = float(np.clip(0.5 + 0.4 * arousal + rng.normal(0, 0.18), 0, 1))
        bpm = lo + u * (hi - lo)
        meters = st.meters
        meter = int(meters[int(rng.choice(len(meters), p=[m[1] for m in meters]))][0])
        major_bias = st.major_bias + artist.major_bias
    bpm = round(bpm, 2)
    mode = "major" if rng.random() < _sigmoid(2.2 * valence + major_bias) else "minor"
    tonic = int(rng.choice(artist.keys)) if rng.random() < 0.75 else int(rng.integers(0, 12))
    progs = harmony.major if mode == "major" else harmony.minor
    progression = tuple(progs[int(rng.integers(0, len(progs)))])
    scale = harmony.scale_major if mode == "major" else harmony.scale_minor
    # instrumentation: predominant (melody), chordal accompaniment, optional pad
    pal = list(artist.palette) if not dance else list(harmony.palette)
    if predominant is None:
        weights = [2.0 if i == 0 else 1.0 for i in range(len(pal))] if not dance else [harmony.palette[p] for p in pal]
        melody = _weighted(rng, pal, weights)
    else:
        melody = predominant
    comp_pool = [p for p in pal if p != melody] or [p for p in CHORDAL if p != melody]
    comp_w = [3.0 if p in CHORDAL else 1.0 for p in comp_pool]
    comp = _weighted(rng, comp_pool, comp_w)
    pad_pool = [p for p in pal if p not in (melody, comp)]
    pad = _weighted(rng, pad_pool, [1.0] * len(pad_pool)) if pad_pool and rng.random() < 0.4 else None
    density = st.density * (1 + 0.45 * arousal) * float(np.clip(120 / bpm, 0.6, 1.5)) + rng.normal(0, 0.15)
    density = float(np.clip(density, 0.4, 3.5))
    modern = float(np.clip((year - 1985) / 25, -1, 1))
    loudness = float(np.clip(-23 + 4.5 * arousal + 3 * modern + rng.normal(0, 1.0), -32, -12))
    if dance:
        drum_key: str | None = dance
    else:
        drum_key = st.drums
        if drums is False:
            drum_key = None
    duration = float(rng.uniform(140, 360))
    gel = "gel" in (melody, comp, pad)
    return Track(
        dataset=dataset, key=key, artist=index, genre=artist.genre, title=song_title(rng, artist.genre),
        album=str(rng.choice(artist.albums)), year=year, bpm=bpm, meter=meter, tonic=tonic, mode=mode,
        scale=scale, progression=progression, melody=melody, comp=comp, pad=pad, valence=valence,
        arousal=arousal, density=density, loudness_db=loudness, duration=duration,
        clip_start=float(rng.uniform(0.15, 0.55) * duration), drums=drum_key,
        comp_style=DANCES[dance].comp if dance else st.comp, bass_style=DANCES[dance].bass if dance else st.bass,
        bass_inst=harmony.bass_inst if not dance or harmony.bass != "808" else "ebass",
        distortion=(st.distortion * float(rng.uniform(0.7, 1.3))) if gel else 0.0,
        reverb=harmony.reverb, female=artist.female, focus=focus,
        seed=derive_seed(world_seed, "demo", "render", dataset, key), dance=dance,
    )


def _artists_by_genre(artists: list[Artist]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, a in enumerate(artists):
        out.setdefault(a.genre, []).append(i)
    return out


def _pick_artist(rng: np.random.Generator, artists: list[Artist], pool: list[int]) -> int:
    w = np.asarray([artists[i].familiarity + 0.2 for i in pool])
    return int(pool[int(rng.choice(len(pool), p=w / w.sum()))])


def build_world(settings: DemoSettings) -> World:
    """Sample the complete latent world from ``settings``."""
    s = settings

    def rng(*parts: object) -> np.random.Generator:
        return np.random.default_rng(derive_seed(s.seed, "demo", *parts))

    genres = list(GTZAN_GENRES[: s.n_genres])
    artists = make_artists(s, genres, rng("artists"))
    by_genre = _artists_by_genre(artists)
    all_idx = list(range(len(artists)))
    tracks: dict[str, list[Track]] = {}

    # learning corpus (MSD stand-in)
    r = rng("corpus")
    taken: set[str] = set()
    taken_songs: set[str] = set()
    corpus = []
    for _ in range(s.corpus_tracks):
        a = _pick_artist(r, artists, all_idx)
        tid = random_id(r, "TR", taken, letters_first=3)
        track = make_track(s.seed, artists[a], a, r, "corpus", tid)
        track.extra["song_id"] = random_id(r, "SO", taken_songs)
        corpus.append(track)
    tracks["corpus"] = corpus

    # GTZAN: gtzan_per_genre tracks of each genre
    r = rng("gtzan")
    tracks["gtzan"] = [
        make_track(s.seed, artists[a], a, r, "gtzan", f"{g}.{j:05d}")
        for g in genres for j in range(s.gtzan_per_genre)
        for a in [_pick_artist(r, artists, by_genre[g])]
    ]

    # Extended Ballroom: dances with unbalanced counts
    r = rng("ballroom")
    counts = _allocate(s.ballroom_tracks, {d: st.share for d, st in DANCES.items()},
                       minimum=2 if s.ballroom_tracks >= 2 * len(DANCES) else 1)
    ids = r.choice(np.arange(100000, 999999), size=s.ballroom_tracks, replace=False)
    ballroom = []
    k = 0
    for dance, c in counts.items():
        for _ in range(c):
            a = _pick_artist(r, artists, all_idx)
            ballroom.append(make_track(s.seed, artists[a], a, r, "ballroom", str(int(ids[k])), dance=dance))
            k += 1
    tracks["ballroom"] = ballroom

    # IRMAS: source tracks with a predominant instrument, 1-3 clips each
    tracks["irmas"] = _irmas_tracks(s, artists, rng("irmas"))

    # FMA: unbalanced genres
    r = rng("fma")
    fma_counts = _allocate(s.fma_tracks, {g: FMA_GENRE_SHARE[g] for g in genres},
                           minimum=2 if s.fma_tracks >= 2 * len(genres) else 0)
    fma_ids = np.sort(r.choice(np.arange(2, 2 + 6 * max(s.fma_tracks, 1)), size=s.fma_tracks, replace=False))
    fma_keys = [str(int(x)) for x in fma_ids]
    r.shuffle(fma_keys)
    fma = []
    k = 0
    for g, c in fma_counts.items():
        for _ in range(c):
            a = _pick_artist(r, artists, by_genre[g])
            fma.append(make_track(s.seed, artists[a], a, r, "fma", fma_keys[k]))
            k += 1
    tracks["fma"] = sorted(fma, key=lambda t: int(t.key))

    # MediaEval 2013 emotion: song ids with gaps
    r = rng("emotion")
    em_ids = np.sort(r.choice(np.arange(2, 2 + 2 * max(s.emotion_tracks, 1)), size=s.emotion_tracks,
                              replace=False))
    tracks["emotion"] = [make_track(s.seed, artists[a], a, r, "emotion", str(int(sid)))
                         for sid in em_ids for a in [_pick_artist(r, artists, all_idx)]]

    # Last.fm-1K: tracks identified by MusicBrainz ids
    r = rng("lastfm1k")
    lfm = []
    for _ in range(s.lastfm1k_tracks):
        a = _pick_artist(r, artists, all_idx)
        lfm.append(make_track(s.seed, artists[a], a, r, "lastfm1k", random_mbid(r)))
    tracks["lastfm1k"] = lfm

    # open corpora: MTG-Jamendo tracks (a learning corpus) and MagnaTagATune songs cut into segments
    tracks["jamendo"] = _jamendo_tracks(s, artists, rng("jamendo"))
    tracks["mtt"] = _mtt_songs(s, artists, rng("mtt"))

    users = make_users(s.n_users, genres, rng("users"), s.corpus_tracks, hex_ids=True)
    lfm_users = make_users(s.lastfm1k_users if s.lastfm1k_tracks else 0, genres, rng("lastfm1k_users"),
                           s.lastfm1k_tracks, hex_ids=False)
    return World(s, genres, artists, tracks, users, lfm_users)


def _irmas_tracks(s: DemoSettings, artists: list[Artist], r: np.random.Generator) -> list[Track]:
    """Source tracks of the IRMAS clips; ``extra['clips']`` is the number of 3-s clips of each."""
    sizes: list[int] = []
    cap = min(3, max(1, s.irmas_clips // len(IRMAS_INSTRUMENTS)))  # room for every instrument
    while sum(sizes) < s.irmas_clips:
        sizes.append(min(cap, int(r.choice([1, 2, 3], p=[0.12, 0.18, 0.70]))))
    if sizes:
        sizes[-1] -= sum(sizes) - s.irmas_clips
    insts = list(IRMAS_INSTRUMENTS)
    order = list(r.permutation(insts))
    w = np.asarray([IRMAS_SHARE[i] for i in insts], dtype=float)
    chosen = [order[i] if i < len(order) else insts[int(r.choice(len(insts), p=w / w.sum()))]
              for i in range(len(sizes))]
    numbers = np.sort(r.choice(np.arange(1, 10 * max(len(sizes), 1) + 100), size=len(sizes), replace=False))
    out = []
    for n_clips, inst, number in zip(sizes, chosen, numbers):
        pool = [i for i, a in enumerate(artists) if inst in a.palette] or list(range(len(artists)))
        a = _pick_artist(r, artists, pool)
        classical = artists[a].genre == "classical"
        drums = (not classical) and r.random() < 0.7
        t = make_track(s.seed, artists[a], a, r, "irmas", f"{int(number):04d}", predominant=inst,
                       drums=drums, focus=True)
        t.extra["clips"] = n_clips
        t.extra["drum_tag"] = ("dru" if t.drums else "nod") if r.random() < 0.4 else ""
        out.append(t)
    return out


def mtt_segment_seconds(s: DemoSettings) -> int:
    """Length of a MagnaTagATune-style segment: the clip length in whole seconds (at least 3)."""
    return max(3, int(round(s.clip_seconds)))


def _jamendo_tracks(s: DemoSettings, artists: list[Artist], r: np.random.Generator) -> list[Track]:
    """MTG-Jamendo-style tracks keyed ``track_NNNNNNN`` (ascending ids with gaps); the first three
    come from three different artists, so that an artist-disjoint three-way split exists."""
    numbers = np.sort(r.choice(1_399_999, size=s.jamendo_tracks, replace=False) + 1)
    everyone = list(range(len(artists)))
    first: list[int] = []
    out = []
    for number in numbers:
        a = _pick_artist(r, artists, [i for i in everyone if i not in first] if len(first) < 3 else everyone)
        if len(first) < 3:
            first.append(a)
        out.append(make_track(s.seed, artists[a], a, r, "jamendo", f"track_{int(number):07d}"))
    return out


def _mtt_songs(s: DemoSettings, artists: list[Artist], r: np.random.Generator) -> list[Track]:
    """Songs cut into ``s.mtt_clips`` consecutive MagnaTagATune-style segments in all. ``extra`` holds
    the song's ``track_number`` on its album, the ``[start, end]`` seconds of its ``segments``, their
    ``clip_ids`` (ascending with gaps) and the segments written as zero-byte files (``empty``, one or
    two in the whole set, as in the real data)."""
    sizes: list[int] = []
    while sum(sizes) < s.mtt_clips:
        sizes.append(int(r.integers(2, 7)))
    if sizes:
        sizes[-1] -= sum(sizes) - s.mtt_clips
    length = mtt_segment_seconds(s)
    clip_ids = np.sort(r.choice(np.arange(2, 2 + 3 * max(s.mtt_clips, 1)), size=s.mtt_clips, replace=False))
    numbers: dict[tuple[int, str], int] = {}
    songs = []
    done = 0
    for k, n in enumerate(sizes):
        a = _pick_artist(r, artists, list(range(len(artists))))
        t = make_track(s.seed, artists[a], a, r, "mtt", f"song_{k + 1:05d}")
        start = int(min(t.clip_start, max(0.0, t.duration - n * length)))
        t.clip_start = float(start)
        numbers[(a, t.album)] = numbers.get((a, t.album), int(r.integers(0, 3))) + 1
        t.extra.update(track_number=numbers[(a, t.album)],
                       segments=[[start + i * length, start + (i + 1) * length] for i in range(n)],
                       clip_ids=[int(c) for c in clip_ids[done: done + n]], empty=[])
        songs.append(t)
        done += n
    flat = [(i, j) for i, n in enumerate(sizes) for j in range(n)]
    for c in sorted(int(c) for c in r.choice(len(flat), size=min(2, s.mtt_clips // 5), replace=False)):
        songs[flat[c][0]].extra["empty"].append(flat[c][1])
    return songs


def make_users(n: int, genres: list[str], rng: np.random.Generator, n_tracks: int, hex_ids: bool) -> list[User]:
    """Listeners with a taste over genres (Dirichlet), a preferred mood and an activity level."""
    users = []
    taken: set[str] = set()
    for i in range(n):
        if hex_ids:
            while True:
                uid = rng.bytes(20).hex()
                if uid not in taken:
                    taken.add(uid)
                    break
        else:
            uid = f"user_{i + 1:06d}"
        taste = rng.dirichlet(np.full(len(genres), 0.5))
        mood = (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8)))
        hi = max(5, n_tracks // 3)
        activity = int(np.clip(round(rng.lognormal(math.log(max(5.0, 0.08 * n_tracks)), 0.6)), 5, hi))
        users.append(User(uid, taste, mood, activity))
    return users
