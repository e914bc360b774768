"""Static musical knowledge of the demo world: genres, dances, instruments, patterns.

Everything here is a constant table; the latent model (``world.py``) samples from
these tables and the renderer (``synth.py``) turns them into sound. Drum and
accompaniment rhythms are written as step strings, one character per grid step:
``X`` accent (velocity 1.0), ``x`` normal (0.7), ``o`` ghost note (0.35), ``.`` rest.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Pitch
# ---------------------------------------------------------------------------

KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
}

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "5": (0, 7, 12),
}

Chord = tuple[int, str]  # (root in semitones above the tonic, quality)

# ---------------------------------------------------------------------------
# Instruments
# ---------------------------------------------------------------------------

#: IRMAS instrument codes, in the data set's order.
IRMAS_INSTRUMENTS = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")

INSTRUMENT_NAMES = {
    "cel": "cello", "cla": "clarinet", "flu": "flute", "gac": "acoustic guitar",
    "gel": "electric guitar", "org": "organ", "pia": "piano", "sax": "saxophone",
    "tru": "trumpet", "vio": "violin", "voi": "voice",
}

#: Instruments that can play chords (accompaniment role).
CHORDAL = ("pia", "gac", "gel", "org")


@dataclass(frozen=True)
class Timbre:
    """Synthesis parameters of one instrument.

    ``method`` is ``table`` (harmonic/additive wavetables, one per pitch, with a
    bright attack spectrum crossfading into a duller sustain spectrum) or ``fm``
    (two-operator frequency modulation whose index follows the envelope).
    """

    method: str = "table"
    slope: float = 1.0  # harmonic k has amplitude k**-slope
    even: float = 1.0  # gain of even harmonics (clarinet: small)
    formants: tuple[tuple[float, float, float], ...] = ()  # (Hz, width in octaves, gain)
    floor: float = 1.0  # spectral-envelope floor when formants are given
    comb: float = 0.0  # pluck / hammer / pickup position: amplitude * |sin(pi k comb)|
    partials: tuple[float, ...] = ()  # explicit harmonic amplitudes (flute, organ, 808)
    sub_octave: bool = False  # partials are relative to f0 / 2 (organ 16' stop)
    dull: float = 0.0  # sustain spectrum: extra exp(-dull (k-1)) roll-off
    bright_tau: float = 0.0  # seconds of the bright -> dull crossfade (0: no crossfade)
    env: str = "sustain"  # "pluck" (exponential decay) or "sustain"
    attack: float = 0.01
    decay: float = 1.0  # pluck: time constant at middle C; sustain: initial decay
    sustain: float = 1.0
    release: float = 0.1
    vibrato: tuple[float, float, float] = (0.0, 0.0, 0.0)  # rate Hz, depth semitones, delay s
    noise: float = 0.0  # breath / bow noise relative level
    tremolo: tuple[float, float] = (0.0, 0.0)  # rate Hz, depth
    fm: tuple[float, float, float] = (1.0, 0.0, 0.0)  # ratio, base index, index per envelope
    register: tuple[int, int] = (48, 84)  # MIDI range of melodies
    vowels: bool = False  # per-note vowel formants (voice)
    glide: float = 0.0  # pitch drop in semitones over the first 50 ms (808)
    max_harmonics: int = 48


TIMBRES: dict[str, Timbre] = {
    # IRMAS instruments
    "pia": Timbre(slope=1.0, comb=1 / 7.3, dull=0.35, bright_tau=0.25, env="pluck",
                  attack=0.002, decay=1.1, release=0.25, register=(52, 86)),
    "gac": Timbre(slope=0.85, comb=0.13, formants=((105.0, 0.5, 3.0), (230.0, 0.5, 2.0), (2500.0, 0.8, 1.5)),
                  floor=0.6, dull=0.55, bright_tau=0.06, env="pluck", attack=0.001, decay=0.55,
                  release=0.08, register=(47, 79)),
    "gel": Timbre(slope=0.8, comb=0.27, dull=0.15, bright_tau=0.35, env="pluck", attack=0.002,
                  decay=1.8, release=0.12, vibrato=(5.5, 0.12, 0.25), register=(52, 84)),
    "org": Timbre(partials=(0.55, 1.0, 0.55, 0.7, 0.0, 0.35, 0.0, 0.4, 0.0, 0.12, 0.0, 0.2, 0.0, 0.0, 0.0, 0.15),
                  sub_octave=True, env="sustain", attack=0.006, decay=1.0, sustain=1.0, release=0.03,
                  tremolo=(6.4, 0.28), noise=0.01, register=(50, 84)),
    "vio": Timbre(slope=0.95, formants=((290.0, 0.35, 2.5), (470.0, 0.35, 1.8), (2900.0, 0.6, 3.5)),
                  floor=0.35, env="sustain", attack=0.09, decay=0.4, sustain=0.85, release=0.12,
                  vibrato=(5.6, 0.28, 0.18), noise=0.025, register=(62, 93)),
    "cel": Timbre(slope=0.95, formants=((190.0, 0.4, 2.5), (420.0, 0.4, 2.0), (1500.0, 0.6, 1.5)),
                  floor=0.3, env="sustain", attack=0.11, decay=0.5, sustain=0.85, release=0.15,
                  vibrato=(5.0, 0.25, 0.2), noise=0.02, register=(40, 67)),
    "cla": Timbre(slope=1.15, even=0.12, formants=((1500.0, 1.2, 1.0),), floor=0.5, env="sustain",
                  attack=0.045, decay=0.6, sustain=0.9, release=0.06, noise=0.012, register=(52, 84)),
    "flu": Timbre(partials=(1.0, 0.32, 0.14, 0.06, 0.03, 0.015), env="sustain", attack=0.07, decay=0.5,
                  sustain=0.9, release=0.08, vibrato=(5.0, 0.15, 0.15), noise=0.09, register=(67, 96)),
    "sax": Timbre(slope=0.75, formants=((950.0, 0.9, 3.0), (2600.0, 0.5, 1.2)), floor=0.25, dull=0.08,
                  bright_tau=0.12, env="sustain", attack=0.035, decay=0.3, sustain=0.8, release=0.07,
                  vibrato=(5.2, 0.22, 0.3), noise=0.035, register=(50, 80)),
    "tru": Timbre(method="fm", fm=(1.0, 0.6, 3.2), env="sustain", attack=0.03, decay=0.15, sustain=0.75,
                  release=0.06, vibrato=(5.8, 0.1, 0.3), noise=0.01, register=(56, 84)),
    "voi": Timbre(slope=1.25, vowels=True, floor=0.08, env="sustain", attack=0.05, decay=0.4, sustain=0.85,
                  release=0.1, vibrato=(5.4, 0.38, 0.12), noise=0.012, register=(50, 77)),
    # Bass instruments (not IRMAS classes)
    "ebass": Timbre(slope=1.5, comb=0.2, dull=0.5, bright_tau=0.12, env="pluck", attack=0.003, decay=1.4,
                    release=0.06, register=(28, 52), max_harmonics=16),
    "upright": Timbre(slope=1.7, formants=((110.0, 0.6, 2.0),), floor=0.5, dull=0.7, bright_tau=0.05,
                      env="pluck", attack=0.004, decay=0.55, release=0.05, register=(28, 52), max_harmonics=12),
    "b808": Timbre(partials=(1.0, 0.08, 0.03), env="pluck", attack=0.002, decay=2.5, release=0.05,
                   glide=2.0, register=(28, 48)),
    "fmbass": Timbre(method="fm", fm=(1.0, 0.5, 2.5), env="pluck", attack=0.002, decay=0.9, release=0.05,
                     register=(28, 52)),
    "arco": Timbre(slope=1.0, formants=((150.0, 0.5, 2.0), (400.0, 0.5, 1.5)), floor=0.35, env="sustain",
                   attack=0.14, decay=0.6, sustain=0.85, release=0.2, vibrato=(4.8, 0.18, 0.25), noise=0.015,
                   register=(28, 55), max_harmonics=24),
}

#: Vowel formants (F1, F2, F3 in Hz) of an adult male voice; a female voice scales them by 1.15.
VOWEL_FORMANTS = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
}

# ---------------------------------------------------------------------------
# Drums
# ---------------------------------------------------------------------------

#: Drum voices: K kick, S snare, H closed hat, O open hat, R ride, C crash, P clap,
#: M rim / clave, B cowbell, T conga, Z shaker, J tambourine, W brush.
DRUM_VOICES = "KSHORCPMBTZJW"

#: Pan of each drum voice (-1 left .. 1 right).
DRUM_PAN = {"K": 0.0, "S": 0.05, "H": 0.35, "O": 0.35, "R": -0.4, "C": -0.25, "P": 0.0,
            "M": 0.2, "B": -0.3, "T": 0.45, "Z": 0.5, "J": -0.5, "W": 0.1}


@dataclass(frozen=True)
class DrumPattern:
    """A one- or two-bar drum pattern on a grid of ``subdiv`` steps per beat."""

    meter: int
    subdiv: int
    voices: dict[str, str]
    swing: float = 0.0  # delay of the off-beat 8th in fractions of a beat

    def steps(self) -> int:
        """Number of grid steps of the pattern (all voice strings have this length)."""
        return len(next(iter(self.voices.values())))


DRUM_PATTERNS: dict[str, DrumPattern] = {
    # genres
    "rock": DrumPattern(4, 4, {"K": "X.......X.x.....", "S": "....X.......X...", "H": "x.x.x.x.x.x.x.x."}),
    "metal": DrumPattern(4, 4, {"K": "XxXxXxXxXxXxXxXx", "S": "....X.......X...", "R": "X...x...X...x..."}),
    "pop": DrumPattern(4, 4, {"K": "X......xX.......", "S": "....x.......x...", "P": "....X.......X...",
                              "H": "x.xxx.x.x.xxx.x."}),
    "disco": DrumPattern(4, 4, {"K": "X...X...X...X...", "S": "....X.......X...", "O": "..x...x...x...x.",
                                "H": "xx.xxx.xxx.xxx.x"}),
    "hiphop": DrumPattern(4, 4, {"K": "X.........X.x...", "S": "....X.......X...", "H": "x.x.x.x.x.x.x.x."},
                          swing=0.08),
    "reggae": DrumPattern(4, 4, {"K": "........X.......", "M": "........X.......", "H": "x.x.x.x.x.x.x.x."},
                          swing=0.06),
    "country": DrumPattern(4, 4, {"K": "X.......X.......", "S": "....x.......x...", "H": "x.x.x.x.x.x.x.x.",
                                  "J": "..x...x...x...x."}),
    "blues": DrumPattern(4, 3, {"K": "X.....X.....", "S": "...X.....X..", "H": "x.xx.xx.xx.x"}),
    "jazz": DrumPattern(4, 3, {"R": "X..x.xX..x.x", "H": "...x.....x..", "K": "o.....o.....",
                               "W": "..o..o..o.o."}),
    # dances (Extended Ballroom)
    "Chacha": DrumPattern(4, 4, {"K": "X.......X.......", "B": "X...x...X...x...", "T": "......x.x.x.xX..",
                                 "M": "....x...x...x.x."}),
    "Foxtrot": DrumPattern(4, 3, {"K": "o.....o.....", "W": "...x.....x..", "R": "X..x.xX..x.x"}),
    "Jive": DrumPattern(4, 3, {"K": "X.....X.....", "S": "...X.....X..", "H": "X.xX.xX.xX.x"}),
    "Pasodoble": DrumPattern(2, 4, {"K": "X...X...", "S": "x.xxX.xx", "C": "X......."}),
    "Quickstep": DrumPattern(4, 4, {"K": "X...X...X...X...", "S": "....X.......X...", "H": "x.x.x.x.x.x.x.x."},
                             swing=0.1),
    "Rumba": DrumPattern(4, 4, {"K": "X.....x.X.......", "M": "X..X...X..X.X...", "T": "..x.x.....x.x.xX",
                                "Z": "x.x.x.x.x.x.x.x."}),
    "Salsa": DrumPattern(4, 4, {"M": "X..X...X..X.X...", "B": "X.x.X.x.X.x.X.x.", "T": "......xX......xX",
                                "K": "...X.......X...."}),
    "Samba": DrumPattern(2, 4, {"K": "o...X...", "Z": "xXxxxXxx", "T": "X.X.XX.X", "M": "x..x..x."}),
    "Slowwaltz": DrumPattern(3, 2, {"K": "X.....", "W": "..x.x.", "H": "x.x.x."}),
    "Tango": DrumPattern(4, 4, {"K": "X...X...X...X.X.", "S": "X...x...X...xXx.", "M": "........x......."}),
    "Viennesewaltz": DrumPattern(3, 2, {"K": "X.....", "S": "..x.x.", "H": "x.x.x."}),
    "Waltz": DrumPattern(3, 2, {"K": "X.....", "S": "..X.X.", "R": "x.x.x."}),
    "Wcswing": DrumPattern(4, 3, {"K": "X.....X.....", "S": "...X.....X..", "H": "x.xx.xx.xx.x"},
                           swing=0.0),
}

#: Accompaniment (chord) rhythms per meter; step strings on 4 steps per beat.
COMP_RHYTHMS: dict[str, dict[int, str]] = {
    "block": {4: "X...............", 3: "X...........", 2: "X......."},
    "half": {4: "X.......x.......", 3: "X...........", 2: "X...x..."},
    "strum": {4: "X.x.x.x.X.x.x.x.", 3: "X.x.x.x.x.x.", 2: "X.x.x.x."},
    "skank": {4: "..x...x...x...x.", 3: "..x...x...x.", 2: "..x...x."},
    "stab": {4: "..x...x...x.x...", 3: "x...x...x...", 2: "x..x..x."},
    "comp": {4: "x.....x..x......", 3: "....x...x...", 2: "x.....x."},
    "power": {4: "x.x.x.x.x.x.x.x.", 3: "x.x.x.x.x.x.", 2: "x.x.x.x."},
    "waltz": {4: "....x.......x...", 3: "....x...x...", 2: "....x..."},
    "montuno": {4: "x.x..x.x.x..x.x.", 3: "x.x..x.x.x..", 2: "x.x..x.x"},
    "arp": {4: "x.x.x.x.x.x.x.x.", 3: "x.x.x.x.x.x.", 2: "x.x.x.x."},
}

# ---------------------------------------------------------------------------
# Genres (the world's genres carry the 10 GTZAN names, in GTZAN order)
# ---------------------------------------------------------------------------

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


@dataclass(frozen=True)
class GenreStyle:
    """How a genre sounds and how it is labelled in the companion data sets."""

    name: str
    tempo: tuple[float, float]  # BPM range of the genre
    drums: str | None  # key of DRUM_PATTERNS
    palette: dict[str, float]  # instrument -> weight
    comp: str  # key of COMP_RHYTHMS
    bass: str  # bass-line style
    bass_inst: str
    major: list[list[Chord]]
    minor: list[list[Chord]]
    major_bias: float  # logit offset of P(major)
    scale_major: str
    scale_minor: str
    era: tuple[int, int]  # years the genre's artists are active around
    mood: tuple[float, float]  # (valence, arousal) centre, each in [-1, 1]
    density: float  # melody notes per beat at neutral arousal
    distortion: float  # drive of the electric guitar
    reverb: tuple[float, float]  # (decay seconds, wet level)
    keys: tuple[int, ...]  # preferred tonics
    weight: float  # share of the world's artists
    meters: tuple[tuple[int, float], ...] = ((4, 1.0),)
    subgenres: tuple[str, ...] = ()  # CDR-style children
    cdr_parent: str = ""
    tag_synonyms: tuple[str, ...] = ()
    fma_genre: str = ""
    emotion_genre: str = ""
    irmas_genre: str = ""
    words: tuple[str, ...] = ()  # lyric topic words


def _p(*chords: str) -> list[Chord]:
    """Parse "0:maj 7:maj 9:min" style chord lists."""
    out: list[Chord] = []
    for item in chords:
        root, quality = item.split(":")
        out.append((int(root), quality))
    return out


GENRE_STYLES: dict[str, GenreStyle] = {
    "blues": GenreStyle(
        name="blues", tempo=(68, 112), drums="blues",
        palette={"gel": 3.0, "voi": 3.0, "pia": 2.0, "gac": 1.5, "sax": 1.0, "org": 1.0, "tru": 0.4},
        comp="comp", bass="walking", bass_inst="ebass",
        major=[_p("0:7", "0:7", "0:7", "0:7", "5:7", "5:7", "0:7", "0:7", "7:7", "5:7", "0:7", "7:7")],
        minor=[_p("0:m7", "0:m7", "0:m7", "0:m7", "5:m7", "5:m7", "0:m7", "0:m7", "8:7", "7:7", "0:m7", "7:7")],
        major_bias=0.3, scale_major="blues", scale_minor="blues", era=(1952, 1985), mood=(-0.25, -0.1),
        density=1.3, distortion=2.0, reverb=(0.35, 0.22), keys=(4, 9, 7, 2, 0), weight=0.8,
        subgenres=("Delta Blues", "Chicago Blues", "Electric Blues", "Blues Rock"), cdr_parent="Blues",
        tag_synonyms=("blues", "electric blues", "blues rock", "delta blues"), fma_genre="Blues",
        emotion_genre="Blues", irmas_genre="jaz_blu",
        words=("blue", "woman", "train", "whiskey", "cri", "road", "lone", "mornin", "shoe", "mojo", "rain", "baby"),
    ),
    "classical": GenreStyle(
        name="classical", tempo=(60, 132), drums=None,
        palette={"vio": 3.0, "pia": 3.0, "cel": 2.0, "flu": 2.0, "cla": 2.0, "org": 0.6, "tru": 0.5, "voi": 0.4},
        comp="arp", bass="sustain", bass_inst="arco",
        major=[_p("0:maj", "5:maj", "7:7", "0:maj"), _p("0:maj", "9:min", "2:min", "7:7")],
        minor=[_p("0:min", "5:min", "7:7", "0:min"), _p("0:min", "8:maj", "2:dim", "7:7")],
        major_bias=0.2, scale_major="major", scale_minor="harmonic_minor", era=(1960, 2008),
        mood=(0.0, -0.5), density=1.6, distortion=0.0, reverb=(1.1, 0.35), keys=(0, 2, 7, 9, 5, 3),
        weight=0.7, meters=((4, 0.65), (3, 0.35)),
        subgenres=("Baroque", "Romantic", "Chamber Music", "Symphony"), cdr_parent="Classical",
        tag_synonyms=("classical", "instrumental", "orchestral", "chamber music"), fma_genre="Classical",
        emotion_genre="Classical", irmas_genre="cla",
        words=("glori", "heaven", "angel", "sing", "soul", "etern", "light", "grace"),
    ),
    "country": GenreStyle(
        name="country", tempo=(88, 132), drums="country",
        palette={"gac": 3.0, "voi": 3.0, "vio": 2.0, "gel": 1.0, "pia": 1.0},
        comp="strum", bass="rootfifth", bass_inst="ebass",
        major=[_p("0:maj", "5:maj", "7:maj", "0:maj"), _p("0:maj", "0:maj", "5:maj", "7:maj"),
               _p("0:maj", "7:maj", "9:min", "5:maj")],
        minor=[_p("0:min", "10:maj", "5:maj", "0:min")],
        major_bias=1.4, scale_major="major_pentatonic", scale_minor="minor", era=(1962, 2005), mood=(0.35, 0.0),
        density=1.2, distortion=0.5, reverb=(0.3, 0.18), keys=(7, 2, 9, 4, 0), weight=0.8,
        subgenres=("Bluegrass", "Honky Tonk", "Country Pop", "Americana"), cdr_parent="Country",
        tag_synonyms=("country", "americana", "bluegrass", "alt-country"), fma_genre="Country",
        emotion_genre="Country", irmas_genre="cou_fol",
        words=("truck", "home", "river", "whiskey", "dog", "town", "dirt", "porch", "mama", "church", "hors"),
    ),
    "disco": GenreStyle(
        name="disco", tempo=(110, 132), drums="disco",
        palette={"voi": 3.0, "vio": 1.5, "pia": 1.2, "gel": 1.2, "tru": 1.0, "sax": 0.8, "org": 0.8},
        comp="stab", bass="octave", bass_inst="fmbass",
        major=[_p("2:m7", "7:7", "0:maj7", "9:m7"), _p("0:maj7", "2:m7")],
        minor=[_p("0:m7", "5:m7"), _p("0:m7", "8:maj7", "10:7", "0:m7")],
        major_bias=0.0, scale_major="major", scale_minor="dorian", era=(1974, 1986), mood=(0.6, 0.55),
        density=1.7, distortion=0.0, reverb=(0.3, 0.2), keys=(9, 2, 4, 7, 0), weight=0.7,
        subgenres=("Disco", "Funk", "Nu Disco", "Boogie"), cdr_parent="Electronic",
        tag_synonyms=("disco", "funk", "dance", "70s disco"), fma_genre="Electronic",
        emotion_genre="Electronic", irmas_genre="lat_sou",
        words=("danc", "night", "boogi", "groov", "floor", "funk", "feel", "tonight", "move", "shake", "light"),
    ),
    "hiphop": GenreStyle(
        name="hiphop", tempo=(80, 100), drums="hiphop",
        palette={"voi": 4.0, "pia": 1.2, "org": 0.8, "sax": 0.6, "tru": 0.5, "vio": 0.4},
        comp="comp", bass="808", bass_inst="b808",
        major=[_p("0:maj7", "5:maj7")],
        minor=[_p("0:m7", "8:maj7"), _p("0:min", "3:maj", "8:maj", "7:min"), _p("0:m7", "5:m7")],
        major_bias=-0.8, scale_major="major_pentatonic", scale_minor="minor_pentatonic", era=(1987, 2010),
        mood=(-0.05, 0.25), density=2.6, distortion=0.0, reverb=(0.15, 0.08), keys=(1, 3, 6, 8, 10), weight=0.8,
        subgenres=("Boom Bap", "Gangsta Rap", "Conscious Hip-Hop", "Trip Hop"), cdr_parent="Hip-Hop",
        tag_synonyms=("hip-hop", "hip hop", "rap", "hiphop"), fma_genre="Hip-Hop", emotion_genre="Pop",
        irmas_genre="lat_sou",
        words=("yo", "money", "street", "flow", "rhyme", "block", "hustl", "mic", "crew", "real", "gun", "cash"),
    ),
    "jazz": GenreStyle(
        name="jazz", tempo=(96, 200), drums="jazz",
        palette={"sax": 3.0, "pia": 3.0, "tru": 2.0, "voi": 1.0, "cla": 0.8, "gel": 0.8, "flu": 0.5},
        comp="comp", bass="walking", bass_inst="upright",
        major=[_p("2:m7", "7:7", "0:maj7", "0:maj7"), _p("0:maj7", "9:m7", "2:m7", "7:7")],
        minor=[_p("2:m7b5", "7:7", "0:m7", "0:m7"), _p("0:m7", "5:m7", "10:7", "3:maj7")],
        major_bias=0.3, scale_major="mixolydian", scale_minor="dorian", era=(1950, 1978), mood=(0.15, -0.05),
        density=2.2, distortion=0.0, reverb=(0.45, 0.25), keys=(10, 3, 5, 0, 8), weight=0.8,
        subgenres=("Bebop", "Cool Jazz", "Swing", "Hard Bop"), cdr_parent="Jazz",
        tag_synonyms=("jazz", "bebop", "smooth jazz", "cool jazz"), fma_genre="Jazz", emotion_genre="Jazz",
        irmas_genre="jaz_blu",
        words=("moon", "swing", "sweet", "cool", "blue", "kiss", "darl", "love", "night", "heart", "smoke"),
    ),
    "metal": GenreStyle(
        name="metal", tempo=(96, 184), drums="metal",
        palette={"gel": 5.0, "voi": 2.0, "org": 0.4},
        comp="power", bass="root8", bass_inst="ebass",
        major=[_p("0:5", "10:5", "5:5", "0:5")],
        minor=[_p("0:5", "8:5", "10:5", "0:5"), _p("0:5", "1:5", "0:5", "3:5"), _p("0:5", "3:5", "5:5", "6:5")],
        major_bias=-2.0, scale_major="mixolydian", scale_minor="phrygian", era=(1980, 2010), mood=(-0.55, 0.8),
        density=2.4, distortion=9.0, reverb=(0.2, 0.12), keys=(4, 2, 9, 7, 11), weight=0.8,
        subgenres=("Heavy Metal", "Thrash Metal", "Death Metal", "Doom Metal"), cdr_parent="Metal",
        tag_synonyms=("metal", "heavy metal", "thrash metal", "death metal"), fma_genre="Rock",
        emotion_genre="Rock", irmas_genre="pop_roc",
        words=("fire", "blood", "death", "kill", "scream", "dark", "hell", "steel", "war", "burn", "pain"),
    ),
    "pop": GenreStyle(
        name="pop", tempo=(92, 128), drums="pop",
        palette={"voi": 4.0, "pia": 2.0, "gac": 1.8, "gel": 1.0, "org": 0.4, "vio": 0.5, "sax": 0.3},
        comp="half", bass="root8", bass_inst="fmbass",
        major=[_p("0:maj", "7:maj", "9:min", "5:maj"), _p("0:maj", "5:maj", "9:min", "7:maj")],
        minor=[_p("0:min", "8:maj", "3:maj", "10:maj")],
        major_bias=0.8, scale_major="major", scale_minor="minor", era=(1980, 2010), mood=(0.5, 0.3),
        density=1.6, distortion=1.0, reverb=(0.35, 0.2), keys=(0, 7, 2, 9, 5), weight=1.2,
        subgenres=("Dance Pop", "Synth Pop", "Teen Pop", "Adult Contemporary"), cdr_parent="Pop",
        tag_synonyms=("pop", "dance pop", "synthpop", "female vocalists"), fma_genre="Pop", emotion_genre="Pop",
        irmas_genre="pop_roc",
        words=("love", "babi", "heart", "tonight", "girl", "boy", "kiss", "forev", "smile", "sun", "danc"),
    ),
    "reggae": GenreStyle(
        name="reggae", tempo=(64, 92), drums="reggae",
        palette={"voi": 3.0, "org": 2.0, "gel": 1.8, "tru": 1.0, "sax": 0.8, "pia": 0.8},
        comp="skank", bass="reggae", bass_inst="ebass",
        major=[_p("0:maj", "5:maj"), _p("0:maj", "5:maj", "7:maj", "5:maj")],
        minor=[_p("0:min", "5:min"), _p("0:min", "10:maj", "8:maj", "10:maj")],
        major_bias=0.6, scale_major="major_pentatonic", scale_minor="minor_pentatonic", era=(1970, 1992),
        mood=(0.35, -0.2), density=1.2, distortion=0.0, reverb=(0.55, 0.3), keys=(7, 9, 2, 0, 5), weight=0.6,
        subgenres=("Roots Reggae", "Dub", "Dancehall", "Ska"), cdr_parent="Reggae",
        tag_synonyms=("reggae", "roots reggae", "dub", "ska"), fma_genre="International",
        emotion_genre="Pop", irmas_genre="lat_sou",
        words=("jah", "zion", "babylon", "peac", "rise", "island", "sun", "natti", "righteous", "love", "freedom"),
    ),
    "rock": GenreStyle(
        name="rock", tempo=(100, 152), drums="rock",
        palette={"gel": 4.0, "voi": 3.0, "pia": 1.0, "org": 1.0, "gac": 1.0},
        comp="strum", bass="root8", bass_inst="ebass",
        major=[_p("0:maj", "10:maj", "5:maj", "0:maj"), _p("0:maj", "5:maj", "7:maj", "5:maj")],
        minor=[_p("0:min", "10:maj", "8:maj", "10:maj"), _p("0:min", "5:min", "10:maj", "3:maj")],
        major_bias=0.2, scale_major="mixolydian", scale_minor="minor_pentatonic", era=(1964, 2008),
        mood=(0.05, 0.5), density=1.6, distortion=4.0, reverb=(0.3, 0.16), keys=(4, 9, 2, 7, 0), weight=1.2,
        subgenres=("Classic Rock", "Indie Rock", "Hard Rock", "Punk", "Alternative Rock"), cdr_parent="Rock",
        tag_synonyms=("rock", "classic rock", "alternative", "indie", "hard rock"), fma_genre="Rock",
        emotion_genre="Rock", irmas_genre="pop_roc",
        words=("rock", "road", "wild", "fire", "run", "free", "car", "highway", "loud", "rebel", "alright"),
    ),
}

#: Chord voicing register (lowest MIDI note of a voicing) per chordal instrument.
COMP_REGISTER = {"pia": 55, "gac": 52, "gel": 52, "org": 55, "vio": 62, "cel": 48, "cla": 55, "flu": 67,
                 "sax": 55, "tru": 58, "voi": 55}

# ---------------------------------------------------------------------------
# Extended Ballroom dances
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DanceStyle:
    """A ballroom dance: tempo range, meter (via its drum pattern), arrangement, share of the data set."""

    name: str
    tempo: tuple[float, float]
    comp: str
    bass: str
    genre: str  # the world genre whose palette and harmony the dance borrows
    share: float  # relative count in the data set (unbalanced like the real one)
    major_bias: float = 0.5


DANCES: dict[str, DanceStyle] = {
    "Chacha": DanceStyle("Chacha", (116, 128), "montuno", "tumbao", "disco", 455),
    "Foxtrot": DanceStyle("Foxtrot", (108, 120), "comp", "walking", "jazz", 507),
    "Jive": DanceStyle("Jive", (164, 180), "comp", "walking", "rock", 350),
    "Pasodoble": DanceStyle("Pasodoble", (112, 124), "stab", "march", "classical", 53, -0.5),
    "Quickstep": DanceStyle("Quickstep", (196, 208), "half", "walking", "jazz", 497),
    "Rumba": DanceStyle("Rumba", (96, 108), "block", "tumbao", "pop", 470, 0.0),
    "Salsa": DanceStyle("Salsa", (168, 200), "montuno", "tumbao", "disco", 47),
    "Samba": DanceStyle("Samba", (96, 104), "stab", "march", "pop", 468),
    "Slowwaltz": DanceStyle("Slowwaltz", (66, 78), "waltz", "rootfifth", "classical", 65),
    "Tango": DanceStyle("Tango", (120, 132), "stab", "march", "classical", 464, -1.0),
    "Viennesewaltz": DanceStyle("Viennesewaltz", (170, 184), "waltz", "rootfifth", "classical", 252),
    "Waltz": DanceStyle("Waltz", (84, 96), "waltz", "rootfifth", "pop", 111),
    "Wcswing": DanceStyle("Wcswing", (100, 118), "comp", "walking", "blues", 23),
}

#: The FMA top genres (genre_id, title), a fact of the data set.
FMA_TOP_GENRES: dict[str, int] = {
    "Blues": 3, "Classical": 5, "Country": 9, "Easy Listening": 13, "Electronic": 15, "Experimental": 38,
    "Folk": 17, "Hip-Hop": 21, "Instrumental": 1235, "International": 2, "Jazz": 4,
    "Old-Time / Historic": 8, "Pop": 10, "Rock": 12, "Soul-RnB": 14, "Spoken": 20,
}

#: Relative sizes of the FMA genres mapped from the world's genres (unbalanced, Rock biggest).
FMA_GENRE_SHARE = {"blues": 0.3, "classical": 1.5, "country": 0.6, "disco": 5.0, "hiphop": 3.0, "jazz": 1.0,
                   "metal": 2.0, "pop": 2.0, "reggae": 1.2, "rock": 5.0}

#: IRMAS shares of the 11 instruments (predominant-instrument counts of the real training set).
IRMAS_SHARE = {"cel": 388, "cla": 505, "flu": 451, "gac": 637, "gel": 760, "org": 682, "pia": 721,
               "sax": 626, "tru": 577, "vio": 580, "voi": 778}

#: IRMAS genre codes (each world genre maps to one through ``GenreStyle.irmas_genre``).
IRMAS_GENRES = ("cou_fol", "cla", "pop_roc", "lat_sou", "jaz_blu")

#: Tag vocabulary pieces (Last.fm-like).
MOOD_TAGS = {
    "happy": (0.7, 0.3), "upbeat": (0.5, 0.6), "energetic": (0.2, 0.9), "party": (0.6, 0.7),
    "sad": (-0.7, -0.3), "melancholy": (-0.5, -0.5), "chill": (0.3, -0.7), "relaxing": (0.2, -0.8),
    "mellow": (0.1, -0.5), "aggressive": (-0.6, 0.9), "dark": (-0.7, 0.2), "romantic": (0.5, -0.3),
    "angry": (-0.8, 0.7), "dreamy": (0.1, -0.6),
}
INSTRUMENT_TAGS = {
    "pia": "piano", "gac": "acoustic", "gel": "guitar", "org": "organ", "vio": "violin", "cel": "cello",
    "cla": "clarinet", "flu": "flute", "sax": "saxophone", "tru": "trumpet",
}
PERSONAL_TAGS = ("seen live", "favorites", "my top 10", "love", "awesome", "favourite songs", "beautiful",
                 "cool", "good stuff", "check out", "albums i own", "under 2000 listeners")

#: Lyric words shared by every genre (function words), in frequency order.
COMMON_WORDS = ("i", "the", "you", "to", "and", "a", "me", "it", "not", "in", "my", "is", "of", "your", "that",
                "do", "on", "are", "we", "am", "will", "all", "for", "no", "be", "have", "love", "so", "know",
                "this", "but", "with", "what", "just", "when", "like", "now", "que", "time", "can", "come", "de",
                "go", "up", "oh", "la", "get", "got", "feel", "say")
MOOD_WORDS = {
    "happy": ("sun", "smile", "shine", "happi", "fun", "bright", "laugh", "sweet"),
    "sad": ("tear", "alon", "goodby", "cold", "cri", "rain", "lost", "miss"),
    "angry": ("hate", "fight", "rage", "break", "enemi", "lie", "tear", "scream"),
    "calm": ("dream", "sleep", "float", "slow", "quiet", "breath", "ocean", "still"),
}

#: Countries of Last.fm-1K user profiles.
COUNTRIES = ("United States", "United Kingdom", "Germany", "Poland", "Brazil", "Sweden", "Japan", "Finland",
             "Spain", "Netherlands", "Canada", "Russian Federation", "France", "Italy", "Mexico", "Norway")

# Name material for artists, albums and titles.
NAME_SYLLABLES = ("ka", "lo", "mi", "ra", "ven", "to", "sa", "lin", "mar", "del", "ro", "na", "quin", "tes",
                  "bel", "cor", "da", "ri", "vo", "zen", "ha", "li", "mo", "ter", "gal", "jo", "ny", "ash")
FIRST_NAMES = ("Marla", "Otis", "June", "Ray", "Lena", "Dex", "Nina", "Hank", "Ivy", "Cole", "Ruby", "Sol",
               "Mae", "Jett", "Ada", "Rex", "Lou", "Vera", "Gus", "Nell", "Earl", "Tess", "Blue", "Kai")
BAND_WORDS = ("Comets", "Wolves", "Echoes", "Riders", "Saints", "Lanterns", "Machines", "Shadows", "Pilots",
              "Rivers", "Ghosts", "Hearts", "Kings", "Orbit", "Static", "Harbor", "Velvet", "Iron", "Silver",
              "Crimson", "Electric", "Golden", "Midnight", "Northern", "Broken", "Wild")
TITLE_WORDS = ("Midnight", "River", "Train", "Heart", "Fire", "Rain", "Summer", "Road", "Dream", "Shadow",
               "Light", "Moon", "City", "Song", "Blue", "Gold", "Night", "Morning", "Ocean", "Dance", "Ghost",
               "Stone", "Wind", "Home", "Highway", "Angel", "Storm", "Mirror", "Garden", "Echo", "Velvet")


@dataclass(frozen=True)
class FormatChoice:
    """An audio container, sample rate and channel count of a written file."""

    ext: str
    sample_rate: int
    channels: int
    weight: float = 1.0


#: Formats of the learning corpus (mixed like downloaded previews plus local rips).
CORPUS_FORMATS: tuple[FormatChoice, ...] = (
    FormatChoice("mp3", 22050, 2, 0.14),
    FormatChoice("mp3", 22050, 1, 0.05),
    FormatChoice("mp3", 44100, 2, 0.03),
    FormatChoice("mp3", 16000, 2, 0.03),
    FormatChoice("wav", 44100, 2, 0.14),
    FormatChoice("wav", 22050, 1, 0.05),
    FormatChoice("wav", 16000, 1, 0.04),
    FormatChoice("flac", 44100, 2, 0.19),
    FormatChoice("flac", 22050, 2, 0.20),
    FormatChoice("flac", 16000, 2, 0.07),
    FormatChoice("flac", 44100, 1, 0.06),
)

#: Formats of the MP3 target sets (FMA, MediaEval 2013, Last.fm-1K). Mostly mono: MP3
#: encoding is the generator's largest cost and a stereo MP3 costs twice a mono one.
TARGET_MP3_FORMATS: tuple[FormatChoice, ...] = (
    FormatChoice("mp3", 22050, 1, 0.75),
    FormatChoice("mp3", 22050, 2, 0.20),
    FormatChoice("mp3", 44100, 2, 0.05),
)

#: Years of the world's recordings (the MSD's range, roughly).
ERA_BOUNDS = (1950, 2011)


# ---------------------------------------------------------------------------
# MTG-Jamendo and MagnaTagATune tag vocabularies
# ---------------------------------------------------------------------------

#: Jamendo genre tags of each world genre: the main one first, then related ones.
JAMENDO_GENRE_TAGS = {
    "blues": ("blues", "bluesrock", "soul"),
    "classical": ("classical", "orchestral", "symphonic", "contemporary"),
    "country": ("country", "folk", "singersongwriter"),
    "disco": ("disco", "funk", "dance", "electronic"),
    "hiphop": ("hiphop", "rap", "triphop"),
    "jazz": ("jazz", "swing", "lounge", "jazzfusion"),
    "metal": ("metal", "hardrock", "rock"),
    "pop": ("pop", "poprock", "synthpop", "dance"),
    "reggae": ("reggae", "dub", "world"),
    "rock": ("rock", "alternative", "indie", "classicrock", "punkrock"),
}
#: Jamendo instrument tags of the world's instruments (IRMAS codes and bass voices).
JAMENDO_INSTRUMENT_TAGS = {
    "cel": "cello", "cla": "clarinet", "flu": "flute", "gac": "acousticguitar", "gel": "electricguitar",
    "org": "organ", "pia": "piano", "sax": "saxophone", "tru": "trumpet", "vio": "violin", "voi": "voice",
    "ebass": "bass", "upright": "doublebass", "arco": "doublebass", "b808": "drummachine", "fmbass": "synthesizer",
}
#: Jamendo mood tags placed in the (valence, arousal) plane.
JAMENDO_MOODS = {
    "happy": (0.7, 0.3), "sad": (-0.7, -0.3), "energetic": (0.2, 0.9), "calm": (0.2, -0.8), "dark": (-0.7, 0.2),
    "relaxing": (0.3, -0.7), "melancholic": (-0.5, -0.5), "uplifting": (0.6, 0.5), "epic": (-0.1, 0.8),
    "romantic": (0.5, -0.3), "dramatic": (-0.4, 0.5), "meditative": (0.0, -0.9), "party": (0.6, 0.7),
    "emotional": (-0.3, -0.1), "love": (0.5, -0.1), "powerful": (-0.2, 0.85), "soft": (0.2, -0.6),
    "upbeat": (0.5, 0.6), "hopeful": (0.4, 0.0), "fun": (0.75, 0.55),
}
#: Jamendo theme tags, unrelated to the sound (uploaders' intended uses).
JAMENDO_THEMES = ("film", "background", "corporate", "advertising", "documentary", "travel", "summer", "game",
                  "nature", "christmas")

#: MagnaTagATune tags of each world genre: (likely tags, occasional near-synonyms).
MTT_GENRE_TAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "blues": (("blues",), ("guitar", "slow")),
    "classical": (("classical",), ("classic", "clasical", "baroque", "orchestra")),
    "country": (("country",), ("folk",)),
    "disco": (("dance", "disco"), ("funky", "electronic", "electro", "techno")),
    "hiphop": (("hip hop", "rap"), ("beats", "electronic")),
    "jazz": (("jazz",), ("soft",)),
    "metal": (("metal", "heavy metal"), ("hard rock", "heavy", "rock", "loud")),
    "pop": (("pop",), ("dance", "soft rock")),
    "reggae": (("reggae",), ("world",)),
    "rock": (("rock",), ("hard rock", "soft rock")),
}
#: MagnaTagATune tags of each instrument when it is heard: (likely tags, occasional near-synonyms).
MTT_INSTRUMENT_TAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pia": (("piano",), ("keyboard",)),
    "gac": (("guitar", "acoustic guitar"), ("acoustic", "classical guitar")),
    "gel": (("guitar", "electric guitar"), ("electric",)),
    "org": (("organ",), ("keyboard",)),
    "vio": (("violin", "strings"), ("violins", "string")),
    "cel": (("cello", "strings"), ("string",)),
    "cla": (("clarinet",), ("woodwind",)),
    "flu": (("flute",), ("woodwind",)),
    "sax": (("horns",), ("horn",)),
    "tru": (("trumpet",), ("horns", "horn")),
}
#: The columns of ``annotations_final.csv`` between ``clip_id`` and ``mp3_path``, in file order
#: (names as the real header spells them, with spaces and near-synonyms).
MTT_TAGS = (
    "no voice", "singer", "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
    "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "opera", "male", "singing",
    "vocals", "no vocals", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "solo",
    "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "no voices",
    "metal", "choral", "female voice", "clasical", "baroque", "orchestra", "country", "folk", "disco",
    "funky", "electro", "hip hop", "rap", "jazz", "heavy metal", "hard rock", "heavy", "soft rock", "reggae",
    "world", "blues", "keyboard", "acoustic guitar", "acoustic", "classical guitar", "electric guitar", "electric",
    "organ", "violins", "string", "cello", "clarinet", "woodwind", "horns", "horn", "trumpet", "drum",
    "percussion", "no drums", "no beat", "synthesizer", "male singer", "man singing", "female singing",
    "instrumental", "no singing", "fast beat", "calm", "happy", "upbeat", "sad", "dark", "weird", "strange",
    "different", "not classical", "not rock",
)
