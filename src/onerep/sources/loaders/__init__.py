"""Loaders of the learning sources' native files (SPEC section 3): the MSD preset.

Each loader reads one source's files in their published format, keeps the labels of
the tracks in the corpus manifest and returns them as a sparse track x term matrix
(:class:`CountLabels`) or one value per track (:class:`ScalarLabels`), together with
:class:`LoadStats` counting what was read, ignored and found bad.

The MSD files are large (the Last.fm tag database has 8.6M track-tag rows, the Taste
Profile 48M triplets), so loaders stream: SQLite rows are filtered inside SQLite
through a temporary table of the wanted row ids, text files are read in chunks with
pandas' C parser, and only integer index arrays are accumulated before the sparse
matrix is built.

Bad input (a malformed line, an id the reference table does not know) raises
:class:`LabelFileError` naming the file and the line (or table row) when
``on_bad_line="error"``; with ``"skip"`` it is counted, a few examples are kept, and
loading goes on. Labels of tracks outside the manifest are ignored and counted.

One module per format family: :mod:`.records` (what the loaders return, the manifest's
ids), :mod:`.msd_sqlite` (Last.fm tags, MSD metadata and artist tags from the SQLite
databases), :mod:`.taste` (Taste Profile triplets), :mod:`.musixmatch` (lyrics) and
:mod:`.tables` (tempo and track-to-genre tables, the MSD summary HDF5).
"""

from .msd_sqlite import CorpusMetadata, load_artist_tags, load_tags, load_year
from .musixmatch import load_musixmatch
from .records import ON_BAD, CountLabels, LabelFileError, LoadStats, Problems, ScalarLabels, read_manifest_ids
from .tables import load_cdr, load_tempo
from .taste import load_taste

__all__ = ["ON_BAD", "CorpusMetadata", "CountLabels", "LabelFileError", "LoadStats", "Problems", "ScalarLabels",
           "load_artist_tags", "load_cdr", "load_musixmatch", "load_tags", "load_taste", "load_tempo",
           "load_year", "read_manifest_ids"]
