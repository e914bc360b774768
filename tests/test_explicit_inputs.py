"""Every file a job reads is in its rule's ``input:`` and reaches the command as
``{input.x}``: no rule hands a command a folder to find its inputs in behind
Snakemake's back (``--scores-dir``, ``--labels-dir``, a ``{R}/...`` path).

Two checks: the shell commands as written in ``workflow/rules/*.smk``, and the
commands of a dry run of the tiny study, whose every results path must be one of
the job's inputs, outputs, log or benchmark, or the folder of one of its outputs.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"

#: Rules whose command still names a folder it reads, with the reason it is tolerated
#: for now (each is a known gap, not a licence).
KNOWN: dict[tuple[str, str], str] = {}

#: (rule, option) whose value is a folder the job writes into but that no single job
#: owns, with the reason (no inputs are found there: it is not a folder the job reads).
SHARED_OUTPUT_FOLDERS: dict[tuple[str, str], str] = {
    ("acquire", "--files"): "the data set's download folder, shared by its shards: downloads (and their "
                            "resumable parts) survive a rerun, so it is no job's declared output",
}


def shell_commands() -> list[tuple[str, str, str]]:
    """(rule file, rule name, shell command template) of every rule with a shell command."""
    found = []
    for path in sorted(RULES.glob("*.smk")):
        lines = path.read_text().splitlines()
        rule = None
        for i, line in enumerate(lines):
            m = re.match(r"\s*(?:rule (\w+)\s*:|use rule \w+ as (\w+))", line)
            if m:
                rule = m.group(1) or m.group(2)
                continue
            if re.fullmatch(r"\s*shell\s*:\s*", line):
                parts = []
                for nxt in lines[i + 1:]:
                    text = nxt.strip()
                    if not text.startswith(('"', "'")):
                        break
                    parts.append(text)
                found.append((path.name, rule, ast.literal_eval("(" + "\n".join(parts) + ")")))
    return found


def test_the_parser_sees_every_shell_rule():
    names = {rule for _, rule, _ in shell_commands()}
    assert {"train", "analysis_collect", "analysis_figures", "analysis_tsne", "analysis_context",
            "analysis_summary", "extract", "labels"} <= names
    assert all(cmd.startswith(("onerep ", "OMP_NUM_THREADS=1 onerep ")) for _, _, cmd in shell_commands())


def _cases():
    for file, rule, cmd in shell_commands():
        marks = [pytest.mark.xfail(reason=KNOWN[(file, rule)], strict=False)] if (file, rule) in KNOWN else []
        yield pytest.param(file, rule, cmd, id=f"{file}:{rule}", marks=marks)


@pytest.mark.parametrize("file, rule, cmd", list(_cases()))
def test_commands_read_no_folder(file, rule, cmd):
    """No ``{R}`` (the results folder) in a command, and no ``--*-dir`` option but an
    output folder (``--out-dir``)."""
    assert "{R}" not in cmd and "{R/" not in cmd, f"{file}: rule {rule} passes a {{R}}/... path: {cmd}"
    folders = [opt for opt in re.findall(r"(--[\w-]+-dir)\b", cmd) if not opt.startswith("--out")]
    assert not folders, f"{file}: rule {rule} passes the folder option(s) {folders}: {cmd}"


# -- the commands of a dry run of the tiny study ---------------------------------------------------------------
@pytest.fixture(scope="module")
def jobs(tmp_path_factory, repo, env_with_venv) -> list[dict]:
    """Each job of a forced dry run of the tiny study: rule, input, output, log,
    benchmark (lists of paths) and its shell command."""
    tmp = tmp_path_factory.mktemp("dry")
    done = subprocess.run(
        ["snakemake", "-s", str(repo / "Snakefile"), "--configfile", str(repo / "tests" / "config" / "tiny.yaml"),
         "--cores", "1", "--dry-run", "--printshellcmds", "--forceall"],
        cwd=tmp, env=env_with_venv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    out, job = [], None
    for line in done.stdout.splitlines():
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):$", line)
        if m:
            job = {"rule": m.group(1), "input": [], "output": [], "log": [], "benchmark": [], "shell": None}
            out.append(job)
            continue
        m = re.match(r"\s+(input|output|log|benchmark): (.*)$", line)
        if job is not None and m:
            job[m.group(1)] = [p.strip() for p in m.group(2).split(", ")]
        elif job is not None and line.startswith("Shell command: "):
            job["shell"] = line.removeprefix("Shell command: ")
    return [j for j in out if j["shell"]]


def _paths(cmd: str) -> list[str]:
    """The results paths in a command (also the last part of a KEY=...=PATH argument)."""
    found = []
    for token in shlex.split(cmd):
        token = token.rsplit("=", 1)[-1]
        if token == "results" or token.startswith("results/"):
            found.append(token.rstrip("/"))
    return found


def test_dry_run_commands_name_only_their_files_and_output_folders(jobs):
    assert len(jobs) > 40
    assert {"acquire", "mel_shard", "mel_merge"} <= {j["rule"] for j in jobs}  # no checkpoint hides a job
    for job in jobs:
        assert "<TBD>" not in job["input"], f"rule {job['rule']}: inputs unknown at parse time"
        known = set(job["input"]) | set(job["output"]) | set(job["log"]) | set(job["benchmark"])
        known |= {value for (rule, option) in SHARED_OUTPUT_FOLDERS if rule == job["rule"]
                  for value in _option(job["shell"], option)}
        out_dirs = {str(Path(p).parent) for p in job["output"]} | {p for p in job["output"]}
        stray = [p for p in _paths(job["shell"]) if p not in known and p not in out_dirs]
        assert not stray, f"rule {job['rule']} names {stray}, neither its files nor an output folder: {job['shell']}"


def _option(cmd: str, name: str) -> list[str]:
    """The values of option ``name`` (up to the next option)."""
    tokens = shlex.split(cmd)
    i = tokens.index(name)
    values = []
    for t in tokens[i + 1:]:
        if t.startswith("--"):
            break
        values.append(t)
    return values


def _only(jobs, rule):
    found = [j for j in jobs if j["rule"] == rule]
    assert found, rule
    return found


def test_train_commands_list_the_label_files_of_their_sources(jobs):
    for job in _only(jobs, "train"):
        sources = _option(job["shell"], "--sources")[0].split(",")
        expected = [f"results/labels/{s}.h5" for s in sources if s != "self"]
        assert _option(job["shell"], "--labels") == expected
        assert set(expected) <= set(job["input"])


def test_analysis_commands_list_their_files(jobs):
    from onerep.config import load
    from onerep.evaluate.plan import score_files

    cfg = load(Path(__file__).parent / "config" / "tiny.yaml")
    run_ids = [j["shell"].split("--run-id ")[1].split()[0] for j in _only(jobs, "train")]
    collect = _only(jobs, "analysis_collect")[0]
    scores = _option(collect["shell"], "--scores")
    assert sorted(scores) == sorted(score_files("results", cfg, run_ids))
    assert set(scores) <= set(collect["input"])

    tsne = _only(jobs, "analysis_tsne")[0]
    features = _option(tsne["shell"], "--features")
    assert features and all(re.fullmatch(r"results/features/[^/]+/[^/]+\.h5", f) for f in features)
    assert len(_option(tsne["shell"], "--models")) == len(features)
    assert _option(tsne["shell"], "--target-labels")[0].endswith("/labels.tsv")
    assert sorted(_option(tsne["shell"], "--topics")) == ["results/labels/bpm.topics.tsv",
                                                          "results/labels/tag.topics.tsv"]

    context = _only(jobs, "analysis_context")[0]
    datasets = ["corpus", *(t["name"] for t in cfg["targets"])]
    assert _option(context["shell"], "--records") == [f"results/mel/{d}.records.tsv" for d in datasets]
    assert sorted(_option(context["shell"], "--train-logs")) == sorted(f"results/runs/{r}/train_log.tsv"
                                                                       for r in run_ids)

    figures = _only(jobs, "analysis_figures")[0]
    assert _option(figures["shell"], "--standardised") == ["results/analysis/standardised.tsv"]
    summary = _only(jobs, "analysis_summary")[0]
    assert _option(summary["shell"], "--fits") == ["results/analysis/fits.json"]
    assert "results/analysis/figures/fig16_tsne.png" in _option(summary["shell"], "--figures")
    for job in (collect, tsne, context, figures, summary):
        for name in ("--analysis-dir", "--scores-dir", "--features-dir", "--runs-dir", "--mel-dir"):
            assert name not in job["shell"]
