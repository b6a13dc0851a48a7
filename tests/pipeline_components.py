"""Pipeline components the annotate tests put into saved pipelines. A module of its own so that Ray's worker
processes can import it too (tests/test_annotate_ray.py puts it on their path)."""
import os
from pathlib import Path

from spacy.language import Language


@Language.component("fail_on_boom")
def fail_on_boom(doc):
    """A note the pipeline cannot handle: the annotate job must skip it and go on."""
    if "BOOM" in doc.text:
        raise RuntimeError("this note breaks the pipeline")
    return doc


@Language.component("crash_worker_once")
def crash_worker_once(doc):
    """Kills its process the first time any process runs it (a marker file named by CRASH_MARKER remembers),
    as a dying node would."""
    marker = Path(os.environ["CRASH_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return doc
