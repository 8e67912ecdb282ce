"""Every file format reljudge reads or writes lives here: pairs, human labels, judgments, rejected rows.

Readers validate once, at the edge, and fail with an InputError naming the file, row and field; nothing past this
package parses a file.
"""

from __future__ import annotations

from reljudge.io.annotations import read_annotations
from reljudge.io.judgments import judgment_format, read_judgments, write_judgments
from reljudge.io.layouts import LAYOUTS
from reljudge.io.pairs import PairsRead, read_pairs
from reljudge.io.rejected import Rejected, write_rejected

__all__ = [
    "LAYOUTS",
    "PairsRead",
    "Rejected",
    "judgment_format",
    "read_annotations",
    "read_judgments",
    "read_pairs",
    "write_judgments",
    "write_rejected",
]
