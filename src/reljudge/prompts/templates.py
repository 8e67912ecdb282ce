"""Named, versioned prompt templates for judges that are asked in words (the API judge).

A template is a text file `NAME.vN.txt` under `prompts/templates/` (or any file a user names): a header of `#`
comments and a `schemes:` line, then sections `[system]`, `[user]` and, for a few-shot template, `[example]`, the
form of one labelled example. Placeholders are Python format fields:

- `[system]`: {low} {high} {labels}
- `[user]`: {query} {product} {low} {high} {labels}, and {examples} in a few-shot template
- `[example]`: {query} {product} {label}

An optional `answers:` line names the word a model answers for each label (`answers: E=Exact, S=Substitute`):
a causal LM scored on its answer's tokens reads a word better than a letter. Labels it does not name answer as
themselves.

A template's identity (`Template.ident`) is its name, version and a hash of its text, and it goes into the judge's
spec: a changed prompt is another judge, so cached labels of the old prompt are never served for the new one. Why
versions in file names rather than edits in place: a spec in the store names the version that produced its labels,
and that file stays in the package to re-run it.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from reljudge.errors import JudgeError
from reljudge.labels import LabelScheme

_FILE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)\.v(?P<version>\d+)\.txt$")
_SECTION = re.compile(r"^\[(system|user|example)\]\s*$")
_FIELDS = {
    "system": {"low", "high", "labels"},
    "user": {"query", "product", "low", "high", "labels", "examples"},
    "example": {"query", "product", "label"},
}


@dataclass(frozen=True)
class Template:
    """A parsed template.

    Attributes:
        name: the file name without version and suffix (esci-zero-shot).
        version: N of `.vN`; 0 for a user's file without one.
        schemes: scheme names it is written for ("esci", "graded:0-3"), or "graded" for every graded scale.
        system, user, example: the sections' text; `example` is empty for a zero-shot template.
        sha: the first 12 hex digits of the SHA-256 of the file's text.
        answers: label -> the word a model answers for it (from the `answers:` line; empty when none).
    """

    name: str
    version: int
    schemes: tuple[str, ...]
    system: str
    user: str
    example: str
    sha: str
    answers: tuple[tuple[str, str], ...] = ()

    @property
    def ident(self) -> str:
        """What the judge's spec records: name, version and text hash (esci-zero-shot.v1#1a2b3c4d5e6f)."""
        return f"{self.name}.v{self.version}#{self.sha}"

    @property
    def few_shot(self) -> bool:
        return bool(self.example)

    def accepts(self, scheme: LabelScheme) -> bool:
        return scheme.name in self.schemes or ("graded" in self.schemes and scheme.name.startswith("graded:"))

    def answer(self, label: str) -> str:
        """The word a model answers for `label`."""
        return dict(self.answers).get(label, label)

    def messages(self, scheme: LabelScheme, query: str, product: str, examples: str = "") -> list[dict[str, str]]:
        """The chat messages for one pair: an optional system message and the user message."""
        scale = _scale_fields(scheme)
        user = self.user.format(query=query, product=product, examples=examples, **scale)
        system = self.system.format(**scale)
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]

    def render_example(self, query: str, product: str, label: str) -> str:
        return self.example.format(query=query, product=product, label=label)


def _scale_fields(scheme: LabelScheme) -> dict[str, str]:
    labels = list(scheme.labels)
    return {"low": labels[0], "high": labels[-1], "labels": ", ".join(labels[:-1]) + " or " + labels[-1]}


def template_dir() -> Path:
    return Path(str(files("reljudge.prompts") / "templates"))


def available_templates() -> list[str]:
    """Every shipped template as NAME.vN, sorted."""
    found = (_FILE.match(p.name) for p in template_dir().iterdir())
    return sorted(f"{m['name']}.v{m['version']}" for m in found if m)


def default_template(scheme: LabelScheme, few_shot: bool) -> str:
    """The shipped template a scheme gets when none is named (UMBRELA's wording for the 0-3 scale)."""
    if scheme.name == "esci":
        return "esci-few-shot" if few_shot else "esci-zero-shot"
    if scheme.name.startswith("graded:"):
        if few_shot:
            return "graded-few-shot"
        return "umbrela-0-3" if scheme.name == "graded:0-3" else "graded-zero-shot"
    if scheme.name == "binary" and not few_shot:
        return "binary-zero-shot"
    raise JudgeError(f"no shipped {'few' if few_shot else 'zero'}-shot template for scheme {scheme.name!r}; "
                     "write one (see reljudge/prompts/templates/) and pass its path as the template")


def load_template(name: str) -> Template:
    """A shipped template by NAME (its latest version) or NAME.vN, or a template file by path.

    Raises:
        JudgeError: no such template, or a file that is not a valid template.
    """
    path = Path(name)
    if path.suffix == ".txt" and path.exists():
        m = _FILE.match(path.name)
        return parse_template(path.read_text(encoding="utf-8"), m["name"] if m else path.stem,
                              int(m["version"]) if m else 0, str(path))
    base, _, version = name.partition(".v")
    versions = sorted(int(v.split(".v")[1]) for v in available_templates() if v.split(".v")[0] == base)
    if not versions or (version and (not version.isdigit() or int(version) not in versions)):
        raise JudgeError(f"unknown prompt template {name!r} (shipped: {', '.join(available_templates())}; "
                         "or give the path of a .txt template file)")
    chosen = int(version) if version else versions[-1]
    text = (template_dir() / f"{base}.v{chosen}.txt").read_text(encoding="utf-8")
    return parse_template(text, base, chosen, name)


def parse_template(text: str, name: str, version: int, where: str = "template") -> Template:
    """Parse a template's text (see the module docstring for the format)."""
    sections: dict[str, list[str]] = {}
    schemes: tuple[str, ...] = ()
    answers: tuple[tuple[str, str], ...] = ()
    current: list[str] | None = None
    for line in text.splitlines():
        if m := _SECTION.match(line):
            current = sections.setdefault(m.group(1), [])
        elif current is not None:
            current.append(line)
        elif line.startswith("schemes:"):
            schemes = tuple(s.strip() for s in line.partition(":")[2].split(",") if s.strip())
        elif line.startswith("answers:"):
            answers = _parse_answers(line.partition(":")[2], where)
    parts = {key: "\n".join(lines).strip("\n") for key, lines in sections.items()}
    if not schemes or not parts.get("user"):
        raise JudgeError(f"{where}: a template needs a 'schemes:' line and a [user] section")
    for key, body in parts.items():
        _check_fields(where, key, body)
    few_shot = "{examples}" in parts["user"]
    if few_shot != bool(parts.get("example")):
        raise JudgeError(f"{where}: a few-shot template has both {{examples}} in [user] and an [example] section")
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Template(name, version, schemes, parts.get("system", ""), parts["user"], parts.get("example", ""), sha,
                    answers)


def _parse_answers(text: str, where: str) -> tuple[tuple[str, str], ...]:
    """"E=Exact, S=Substitute" -> (("E", "Exact"), ("S", "Substitute"))."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        label, sep, word = (s.strip() for s in item.partition("="))
        if not sep or not label or not word:
            raise JudgeError(f"{where}: an 'answers:' item must read LABEL=WORD, not {item!r}")
        pairs.append((label, word))
    return tuple(pairs)


def _check_fields(where: str, section: str, body: str) -> None:
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(body) if field is not None}
    except ValueError as exc:
        raise JudgeError(f"{where}: [{section}] is not a valid format string ({exc}); "
                         "write literal braces as {{ }}") from None
    unknown = used - _FIELDS[section]
    if unknown:
        raise JudgeError(f"{where}: [{section}] uses unknown field(s) {', '.join(sorted(unknown))} "
                         f"(allowed: {', '.join(sorted(_FIELDS[section]))})")
