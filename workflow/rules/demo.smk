# The simulated demo world: a deterministic stand-in for MSD and the target data
# sets, written in their real native formats (a simulation, not music data).
from onerep.demo.open_layouts import JAMENDO_SUBSETS as DEMO_JAMENDO_SUBSETS

if config["demo"]["enabled"]:
    DEMO = config["demo"]["out"]
    # The open corpora's layouts (MTG-Jamendo, MagnaTagATune): the files the corpus and
    # target rules read are named, so that those rules find their producer.
    _JAMENDO = f"{DEMO}/jamendo"
    _OPEN_LAYOUTS = {}
    if config["demo"]["jamendo_tracks"]:
        _OPEN_LAYOUTS["jamendo_audio"] = directory(f"{_JAMENDO}/audio")
        _OPEN_LAYOUTS["jamendo_sha256"] = f"{_JAMENDO}/data/download/autotagging_audio_sha256_tracks.txt"
        _OPEN_LAYOUTS["jamendo_tsvs"] = [f"{_JAMENDO}/data/autotagging{subset}.tsv" for subset in DEMO_JAMENDO_SUBSETS]
        _OPEN_LAYOUTS["jamendo_splits"] = [
            f"{_JAMENDO}/data/splits/split-0/autotagging{subset}-{part}.tsv"
            for subset in DEMO_JAMENDO_SUBSETS
            for part in ("train", "validation", "test")
        ]
    if config["demo"]["mtt_clips"]:
        _OPEN_LAYOUTS["magnatagatune"] = directory(f"{DEMO}/magnatagatune")

    rule demo_world:
        output:
            **_OPEN_LAYOUTS,
            manifest=f"{DEMO}/corpus/manifest.tsv",
            audio=directory(f"{DEMO}/corpus/audio"),
            track_metadata=f"{DEMO}/corpus/track_metadata.db",
            lastfm_tags=f"{DEMO}/corpus/lastfm_tags.db",
            taste_triplets=f"{DEMO}/corpus/train_triplets.txt",
            musixmatch=f"{DEMO}/corpus/mxm_dataset_train.txt",
            tempo=f"{DEMO}/corpus/tempo.tsv",
            cdr_genres=f"{DEMO}/corpus/cdr_genres.tsv",
            cdr_vocabulary=f"{DEMO}/corpus/cdr_genre_vocabulary.txt",
            gtzan=directory(f"{DEMO}/gtzan"),
            ballroom=directory(f"{DEMO}/ballroom"),
            irmas=directory(f"{DEMO}/irmas"),
            fma=directory(f"{DEMO}/fma"),
            emotion=directory(f"{DEMO}/emotion"),
            lastfm1k=directory(f"{DEMO}/lastfm1k"),
            world=f"{DEMO}/world.json",
        log:
            f"{LOGS}/demo_world/demo_world.log",
        benchmark:
            f"{BENCH}/demo_world/demo_world.tsv"
        conda:
            "../../envs/audio.yaml"
        threads: res("demo", "threads")
        resources:
            mem_mb=res("demo", "mem_mb"),
            runtime=res("demo", "runtime"),
        params:
            settings=settings("demo"),
            out=lambda wildcards, output: os.path.dirname(output.world),
        shell:
            "onerep demo-world --settings {params.settings:q} --out {params.out:q} --workers {threads} --log {log}"

    FINAL_TARGETS.append(f"{DEMO}/world.json")
