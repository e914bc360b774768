"""The analysis stage (SPEC section 9, the paper's Sect. 5): from all scores to tables,
figures and a summary.

Modules, in the order the workflow uses them:

- :mod:`.collect`   score files -> tidy table; standardisation y*, n*, r*
- :mod:`.models`    models 1 and 2 (design matrices, statsmodels formulas, REML fits)
- :mod:`.reml`      the REML engine for variance-component models (exact gradient)
- :mod:`.bootstrap` seeded, parallel bootstrap intervals (residual / parametric / runs)
- :mod:`.compare`   pairwise strategy comparisons (Wald and bootstrap p-values, Holm)
- :mod:`.variance`  per-source variance components (Table 6) and their correlation
                    with SS-R performance (Fig. 14)
- :mod:`.tables`    the collect and models steps writing the result tables
- :mod:`.figures`   Figs. 7-16 and the training curves (PNG + TSV), drawn from tables
- :mod:`.tsne`      the t-SNE map of Fig. 16 (a table)
- :mod:`.context`   design summary, acquisition losses, training logs, versions
- :mod:`.summary`   ``summary.md``
- :mod:`.commands`  ``onerep analysis <step>``
"""

#: The tables Figs. 7-16 are drawn from (name -> file in the analysis folder); the
#: ``figures`` step takes one option per name (``--tsne-info`` for ``tsne_info``).
#: ``parameters`` (Fig. 15) and ``tsne``/``tsne_info`` (Fig. 16) are written by the
#: ``parameters`` and ``tsne`` steps: the figures step only draws.
FIGURE_TABLES = {"standardised": "standardised.tsv", "model1": "model1.tsv", "model2": "model2.tsv",
                 "correlation": "variance_correlation.tsv", "fits": "fits.json", "parameters": "parameters.tsv",
                 "tsne": "tsne.tsv", "tsne_info": "tsne.json"}

#: The tables summary.md is written from (name -> file in the analysis folder); the
#: ``summary`` step takes one option per name.
SUMMARY_TABLES = {
    "standardised": "standardised.tsv", "model1": "model1.tsv", "model2": "model2.tsv",
    "pairwise": "pairwise.tsv", "components": "variance_components.tsv", "fits": "fits.json",
    "collect": "collect.json", "design": "context/design.tsv", "acquisition": "context/acquisition.tsv",
    "versions": "context/versions.tsv",
}
