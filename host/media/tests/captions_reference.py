"""Reads a caption file with pycaption and prints its cues as JSON lines:
{"start": ns, "end": ns, "text": "..."}. Used by captions_reference.rs."""

import json
import sys

from pycaption import SCCReader, SRTReader, WebVTTReader

READERS = {"scc": SCCReader, "srt": SRTReader, "vtt": WebVTTReader}

path, kind = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    captions = READERS[kind]().read(f.read())
for lang in captions.get_languages():
    for c in captions.get_captions(lang):
        # pycaption keeps microseconds.
        print(json.dumps({"start": round(c.start) * 1000, "end": round(c.end) * 1000, "text": c.get_text()}))
