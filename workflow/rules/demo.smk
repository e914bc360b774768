# The simulated demo world: a deterministic stand-in for MSD and the target data
# sets, written in their real native formats (a simulation, not music data).
if config["demo"]["enabled"]:
    DEMO = config["demo"]["out"]

    rule demo_world:
        output:
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
        params:
            settings=settings("demo"),
        log:
            f"{LOGS}/demo_world/demo_world.log",
        benchmark:
            f"{BENCH}/demo_world/demo_world.tsv"
        threads: res("demo", "threads")
        resources:
            mem_mb=res("demo", "mem_mb"),
            runtime=res("demo", "runtime"),
        shell:
            "onerep demo-world --settings {params.settings:q} --out {DEMO} --workers {threads} --log {log}"

    FINAL_TARGETS.append(f"{DEMO}/world.json")
