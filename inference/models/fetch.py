"""Getting a model into the store, from its servers or from a folder of copied files.

The same code runs for ``python -m inference models get`` and for the dock's Download
and Import buttons; only the transport differs (urllib here, QGIS's network manager in
the dock).  What it guarantees, whoever calls it:

* nothing is fetched when the model is installed, and a file already in the store (or
  downloaded earlier and verified) is hashed instead of fetched again;
* free space is checked before the first byte;
* downloads go to ``<models dir>/.partial/<model>/<file>.part`` and resume with an HTTP
  ``Range`` request after a cut (a server that ignores it sends the whole file: the
  .part starts over);
* every file's size and SHA-256 are checked before it is used; a mismatch is deleted;
* the model's folder gets each part only once all its files are verified, and
  ``installed.json`` is written last: a failure at any step leaves nothing that looks
  installed, and every error is one line saying what to do.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..hashing import sha256_file
from .archive import ArchiveError, extract_members
from .catalog import Catalog, CatalogFile, ModelEntry, Part, index_for, load_catalog, url_for
from .simple_index import find_file
from .store import (INSTALLED, installed_model_dir, model_path, models_dir, staging_path,
                    write_record)
from .transport import Cancelled, Transport, TransportError, UrlTransport

CHUNK = 1 << 20
SPACE_MARGIN = 16 << 20  # the record, directory entries, a file system's rounding


class ModelsError(RuntimeError):
    """A problem the user can act on; the message is one line that says how."""


@dataclass(frozen=True)
class Progress:
    stage: str  # "download", "copy", "verify", "extract"
    file: str
    done: int
    total: int
    overall_done: int  # bytes fetched or copied so far, of
    overall_total: int  # the bytes this get has to fetch or copy


@dataclass
class FilePlan:
    part: Part
    file: CatalogFile
    state: str  # "in store", "verified" (waiting in staging), "partial", "missing"
    have: int = 0  # bytes already downloaded (state "partial")

    @property
    def to_fetch(self) -> int:
        return 0 if self.state in ("in store", "verified") else self.file.size - self.have


@dataclass
class GetPlan:
    entry: ModelEntry
    root: Path
    installed: bool
    files: list[FilePlan] = field(default_factory=list)

    @property
    def fetch_bytes(self) -> int:
        return sum(fp.to_fetch for fp in self.files)

    @property
    def space_needed(self) -> int:
        """Bytes the get will add to the disk (downloads left, archive members)."""
        extracted = sum(m.size for fp in self.files if fp.state != "in store"
                        for m in fp.file.extract)
        return self.fetch_bytes + extracted + SPACE_MARGIN


def human(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} bytes"


def _part_in_store(part: Part, folder: Path) -> bool:
    """Every file the part keeps is in the model's folder with the right size (hashed
    before it is adopted)."""
    return all((folder / part.id / path).is_file()
               and (folder / part.id / path).stat().st_size == size
               for f in part.files for path, size, _sha in f.kept)


def plan_get(name: str, root: Optional[os.PathLike] = None,
             catalog: Optional[Catalog] = None) -> GetPlan:
    """What a get would do, without touching anything: for the question before it."""
    catalog = catalog or load_catalog()
    entry = catalog.get(name)
    root = models_dir(root)
    folder, stage = model_path(name, root), staging_path(name, root)
    plan = GetPlan(entry, root, installed_model_dir(name, root, catalog) is not None)
    for part in entry.parts:
        in_store = plan.installed or _part_in_store(part, folder)
        for f in part.files:
            if in_store:
                plan.files.append(FilePlan(part, f, "in store"))
            elif (stage / f.name).is_file() and (stage / f.name).stat().st_size == f.size:
                plan.files.append(FilePlan(part, f, "verified"))
            elif (stage / (f.name + ".part")).is_file():
                have = (stage / (f.name + ".part")).stat().st_size
                plan.files.append(FilePlan(part, f, "partial", min(have, f.size)))
            else:
                plan.files.append(FilePlan(part, f, "missing"))
    return plan


def describe(plan: GetPlan) -> list[str]:
    """What will be downloaded, from where, under which licence and with which limits:
    shown (command line and dock) before anything is fetched."""
    e = plan.entry
    lines = [f"{e.title}: {e.summary}", f"Licence: {e.licence}"]
    for fp in plan.files:
        p, f = fp.part, fp.file
        note = {"in store": "already in the store", "verified": "already downloaded",
                "partial": f"{human(fp.have)} already downloaded, the rest resumes",
                "missing": "to download"}[fp.state]
        lines.append(f"  {f.name}  {human(f.size)}  from {p.source_text} ({p.licence}; "
                     f"{p.card})  sha256 {f.sha256[:16]}…  [{note}]")
    lines.append(f"To download: {human(plan.fetch_bytes)}; in the store once installed: "
                 f"{human(e.stored_bytes)}; into {plan.root / e.name}")
    if e.accuracy:
        lines.append("Published accuracy: " + e.accuracy_text())
    lines += [f"Limit: {text}" for text in e.limits]
    return lines


def from_folder_advice(entry: ModelEntry) -> str:
    names = " and ".join(f.name for p in entry.parts for f in p.files)
    return (f"copy {names} from a machine that has them into one folder, then run: "
            f"python -m inference models get {entry.name} --from FOLDER (in QGIS: Model "
            "tab, Import folder…)")


def check_space(plan: GetPlan) -> None:
    plan.root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(plan.root).free
    if free < plan.space_needed:
        raise ModelsError(
            f"not enough free space in {plan.root}: {human(plan.space_needed)} needed, "
            f"{human(free)} free; nothing was downloaded. Free some space or choose another "
            "models folder (GEODECODER_MODELS_DIR, or the Model tab's models folder)")


class _Run:
    """One get: the plan, where bytes come from, progress and cancellation."""

    def __init__(self, plan: GetPlan, transport: Optional[Transport], source: Optional[Path],
                 progress: Optional[Callable[[Progress], None]],
                 should_stop: Optional[Callable[[], bool]]):
        self.plan, self.transport, self.source = plan, transport, source
        self.report = progress or (lambda _p: None)
        self.should_stop = should_stop or (lambda: False)
        self.folder = model_path(plan.entry.name, plan.root)
        self.stage = staging_path(plan.entry.name, plan.root)
        self.done = 0
        self.total = plan.fetch_bytes
        self.origins: dict[str, str] = {}

    def stop_point(self) -> None:
        if self.should_stop():
            raise Cancelled("stopped; what was downloaded is kept and the next get resumes")

    def hash_ok(self, path: Path, size: int, sha: str, label: str) -> bool:
        self.report(Progress("verify", label, 0, size, self.done, self.total))
        ok = path.is_file() and path.stat().st_size == size and sha256_file(path) == sha
        self.report(Progress("verify", label, size, size, self.done, self.total))
        return ok

    # ------------------------------------------------------------------ files
    def ensure_file(self, fp: FilePlan) -> None:
        """The file verified in staging (or its part already in the store)."""
        f = fp.file
        if fp.state == "in store":
            if all(self.hash_ok(self.folder / fp.part.id / path, size, sha, path)
                   for path, size, sha in f.kept):
                self.origins.setdefault(fp.part.id, "already in the store")
                return
            fp.state = "missing"  # a file there does not match: get the part again
        staged = self.stage / f.name
        if fp.state == "verified":
            if self.hash_ok(staged, f.size, f.sha256, f.name):
                self.origins.setdefault(fp.part.id, "downloaded earlier")
                return
            staged.unlink()
        self.stop_point()
        part = self.stage / (f.name + ".part")
        if self.source is not None:
            self.copy(f, part)
            origin = str(self.source / f.name)
        else:
            origin = self.download(fp, part)
        self.verify_part(f, part)
        os.replace(part, staged)
        self.origins[fp.part.id] = origin

    def copy(self, f: CatalogFile, part: Path) -> None:
        src = self.source / f.name
        if not src.is_file():
            raise ModelsError(f"{self.source} has no {f.name}; "
                              + from_folder_advice(self.plan.entry))
        sink = _PartSink(part, 0, f, self, "copy")
        sink.begin(resumed=False, length=None)
        try:
            with open(src, "rb") as fh:
                for block in iter(lambda: fh.read(CHUNK), b""):
                    sink.write(block)
        finally:
            sink.close()

    def resolve(self, fp: FilePlan) -> str:
        url = url_for(fp.part, fp.file)
        if url:
            return url
        index = index_for(fp.part, fp.file)
        page = self.transport.get_text(index)
        url, stated = find_file(page, index, fp.file.name)
        if url is None:
            raise ModelsError(f"the index {index} lists no {fp.file.name}; nothing was "
                              "installed. Use a mirror that has it (GEODECODER_PYPI_URL) or "
                              + from_folder_advice(self.plan.entry))
        if stated and stated != fp.file.sha256:
            raise ModelsError(f"the index {index} gives {fp.file.name} another SHA-256 "
                              f"({stated}) than the catalog; refused, nothing downloaded")
        return url

    def download(self, fp: FilePlan, part: Path) -> str:
        f = fp.file
        offset = part.stat().st_size if part.is_file() else 0
        if offset > f.size:
            part.unlink()
            offset = 0
        url = self.resolve(fp)
        if offset < f.size:
            sink = _PartSink(part, offset, f, self, "download")
            try:
                self.transport.stream(url, offset, sink)
            finally:
                sink.close()
        got = part.stat().st_size if part.is_file() else 0
        if got < f.size:
            raise ModelsError(f"the download of {f.name} broke off at {human(got)} of "
                              f"{human(f.size)}; run the same get again to resume")
        return url

    def verify_part(self, f: CatalogFile, part: Path) -> None:
        if not self.hash_ok(part, f.size, f.sha256, f.name):
            got = sha256_file(part) if part.is_file() else "nothing"
            part.unlink(missing_ok=True)
            raise ModelsError(f"{f.name} does not match the catalog (SHA-256 {got}, "
                              f"expected {f.sha256}); the file was deleted. Get it again, "
                              "from the original source")

    # ------------------------------------------------------------------ parts
    def place(self, part: Part) -> None:
        """Assemble the part in staging, then move its folder into the model's."""
        build = self.stage / (part.id + ".build")
        if build.exists():
            shutil.rmtree(build)
        build.mkdir(parents=True)
        for f in part.files:
            staged = self.stage / f.name
            if f.extract:
                self.report(Progress("extract", f.name, 0, f.size, self.done, self.total))
                try:
                    extract_members(staged, f.extract, build)
                except ArchiveError as exc:
                    shutil.rmtree(build)
                    raise ModelsError(f"{exc}; nothing was installed") from exc
                self.report(Progress("extract", f.name, f.size, f.size, self.done, self.total))
            else:
                os.replace(staged, build / f.name)
        target = self.folder / part.id
        self.folder.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        os.replace(build, target)
        for f in part.files:
            if f.extract:
                (self.stage / f.name).unlink(missing_ok=True)

    def run(self) -> Path:
        entry = self.plan.entry
        for fp in self.plan.files:
            self.ensure_file(fp)
        (self.folder / INSTALLED).unlink(missing_ok=True)  # the old record, if any
        for part in entry.parts:
            if any(fp.state != "in store" for fp in self.plan.files if fp.part is part):
                self.place(part)
        sources = [{"part": p.id, "source": p.source, "licence": p.licence,
                    "from": self.origins.get(p.id, "")} for p in entry.parts]
        write_record(entry, self.plan.root, sources)
        shutil.rmtree(self.stage, ignore_errors=True)
        try:
            self.stage.parent.rmdir()  # .partial/, when no other model is under way
        except OSError:
            pass
        return self.folder


class _PartSink:
    """Writes a stream into the .part file: appends when the server resumed, starts
    over when it sent the whole file, refuses more bytes than the file has."""

    def __init__(self, part: Path, offset: int, f: CatalogFile, run: _Run, stage: str):
        self.part, self.offset, self.f, self.run, self.stage = part, offset, f, run, stage
        self.fh = None
        self.size = offset

    def begin(self, resumed: bool, length: Optional[int]) -> None:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        if resumed and self.offset > 0:
            self.fh = open(self.part, "ab")
        else:
            self.run.total += self.offset  # Range ignored: those bytes come again
            self.fh = open(self.part, "wb")
            self.size = 0

    def write(self, data: bytes) -> None:
        self.run.stop_point()
        if self.size + len(data) > self.f.size:
            self.close()
            self.part.unlink(missing_ok=True)
            raise ModelsError(f"the server sent more than the {self.f.size} bytes of "
                              f"{self.f.name}; the file was deleted, nothing was installed")
        self.fh.write(data)
        self.size += len(data)
        self.run.done += len(data)
        self.run.report(Progress(self.stage, self.f.name, self.size, self.f.size,
                                 self.run.done, self.run.total))

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def get_model(name: str, *, root: Optional[os.PathLike] = None,
              catalog: Optional[Catalog] = None, transport: Optional[Transport] = None,
              source: Optional[os.PathLike] = None,
              progress: Optional[Callable[[Progress], None]] = None,
              should_stop: Optional[Callable[[], bool]] = None) -> Path:
    """Install model `name` into the store and return its folder.  From its servers
    through `transport` (urllib by default) or, with `source`, from a folder holding
    the same files.  ModelsError (one line) when it cannot; Cancelled when stopped."""
    catalog = catalog or load_catalog()
    plan = plan_get(name, root, catalog)
    if plan.installed:
        return model_path(name, plan.root)
    check_space(plan)
    run = _Run(plan, transport or UrlTransport(), Path(source) if source else None,
               progress, should_stop)
    try:
        return run.run()
    except TransportError as exc:
        if not exc.reachable:
            raise ModelsError(f"{exc}; nothing was installed. Check the network (or the "
                              "proxy), or " + from_folder_advice(plan.entry)) from exc
        raise ModelsError(f"{exc}; nothing was installed") from exc
    except OSError as exc:
        raise ModelsError(f"the models folder {plan.root} could not be written ({exc}); "
                          "nothing was installed") from exc
